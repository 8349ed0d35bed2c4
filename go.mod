module github.com/hushphone/hushphone

go 1.26.0
