//go:build !cgo

package engine

import "fmt"

// Sound devices need miniaudio, which needs cgo: a build without cgo has
// none (FileAudio and silence still work).

func listDevices(deviceOptions) (mics, speakers []DeviceInfo, err error) {
	return nil, nil, fmt.Errorf("%w: this build has no sound devices: build with CGO_ENABLED=1 and a C compiler", ErrAudio)
}

func openDevice(deviceOptions) (*Device, error) {
	_, _, err := listDevices(deviceOptions{})
	return nil, err
}
