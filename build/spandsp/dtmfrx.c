/*
 * dtmfrx: run spandsp's dtmf_rx (Debian libspandsp-dev) over an 8 kHz mono
 * PCM16 WAV file in 20 ms (160-sample) frames.
 *
 *   dtmfrx FILE.wav
 *       prints one line per digit: "DIGIT SAMPLE_INDEX", where SAMPLE_INDEX
 *       is the index of the first sample of the frame during which spandsp
 *       reported the digit. Nothing else goes to stdout.
 *
 *   dtmfrx --bench FILE.wav [--iterations N]
 *       times dtmf_rx over the whole file N times (after one untimed warm-up
 *       pass) with CLOCK_MONOTONIC and prints
 *       "ns_per_frame=X frames=Y iterations=N".
 *
 * spandsp's defaults are used throughout: dtmf_rx_init with a digits
 * callback, default twist, reverse twist, threshold and no dial-tone filter.
 */
#define _POSIX_C_SOURCE 199309L
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <spandsp.h>

#define FRAME 160

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}

/* read_wav loads an 8 kHz mono PCM16 WAV file; returns 0 on success. */
static int read_wav(const char *path, int16_t **out, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "dtmfrx: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        fprintf(stderr, "dtmfrx: %s: cannot seek\n", path);
        fclose(f);
        return -1;
    }
    long size = ftell(f);
    rewind(f);
    if (size < 12) {
        fprintf(stderr, "dtmfrx: %s: too short to be a WAV file\n", path);
        fclose(f);
        return -1;
    }
    unsigned char *buf = malloc((size_t)size);
    if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "dtmfrx: %s: read failed\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    if (memcmp(buf, "RIFF", 4) != 0 || memcmp(buf + 8, "WAVE", 4) != 0) {
        fprintf(stderr, "dtmfrx: %s: not a RIFF/WAVE file\n", path);
        free(buf);
        return -1;
    }
    int have_fmt = 0;
    size_t pos = 12;
    while (pos + 8 <= (size_t)size) {
        const unsigned char *ck = buf + pos;
        size_t len = le32(ck + 4);
        size_t body = pos + 8;
        if (memcmp(ck, "fmt ", 4) == 0) {
            if (len < 16 || body + 16 > (size_t)size) {
                break;
            }
            unsigned fmt = le16(buf + body), ch = le16(buf + body + 2);
            unsigned rate = le32(buf + body + 4), bits = le16(buf + body + 14);
            if (fmt != 1 || ch != 1 || rate != 8000 || bits != 16) {
                fprintf(stderr,
                        "dtmfrx: %s: need 8000 Hz mono 16-bit PCM, got format %u, %u ch, %u Hz, %u bits\n",
                        path, fmt, ch, rate, bits);
                free(buf);
                return -1;
            }
            have_fmt = 1;
        } else if (memcmp(ck, "data", 4) == 0) {
            if (!have_fmt) {
                break;
            }
            if (body + len > (size_t)size) {
                len = (size_t)size - body; /* truncated file: take what is there */
            }
            *n = len / 2;
            *out = malloc(*n * sizeof(int16_t) + 1);
            if (*out == NULL) {
                free(buf);
                return -1;
            }
            for (size_t i = 0; i < *n; i++) {
                (*out)[i] = (int16_t)le16(buf + body + 2 * i);
            }
            free(buf);
            return 0;
        }
        pos = body + len + (len & 1);
    }
    fprintf(stderr, "dtmfrx: %s: no fmt/data chunk\n", path);
    free(buf);
    return -1;
}

struct report {
    size_t frame_start; /* first sample of the frame being fed */
    long digits;        /* digits reported so far */
    int print;          /* print them (off while benchmarking) */
};

static void on_digits(void *user_data, const char *digits, int len) {
    struct report *r = user_data;
    for (int i = 0; i < len; i++) {
        r->digits++;
        if (r->print) {
            printf("%c %zu\n", digits[i], r->frame_start);
        }
    }
}

/* run feeds the whole signal to s in 160-sample frames. */
static void run(dtmf_rx_state_t *s, struct report *r, const int16_t *x, size_t n) {
    for (size_t off = 0; off < n; off += FRAME) {
        size_t len = n - off < FRAME ? n - off : FRAME;
        r->frame_start = off;
        dtmf_rx(s, x + off, (int)len);
    }
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(void) {
    fprintf(stderr, "usage: dtmfrx FILE.wav\n       dtmfrx --bench FILE.wav [--iterations N]\n");
}

int main(int argc, char **argv) {
    int bench = 0;
    long iterations = 200;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bench") == 0) {
            bench = 1;
        } else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
            char *end;
            iterations = strtol(argv[++i], &end, 10);
            if (*end != '\0' || iterations < 1) {
                usage();
                return 2;
            }
        } else if (path == NULL && argv[i][0] != '-') {
            path = argv[i];
        } else {
            usage();
            return 2;
        }
    }
    if (path == NULL) {
        usage();
        return 2;
    }
    int16_t *x;
    size_t n;
    if (read_wav(path, &x, &n) != 0) {
        return 1;
    }
    struct report r = {0, 0, !bench};
    dtmf_rx_state_t *s = dtmf_rx_init(NULL, on_digits, &r);
    if (s == NULL) {
        fprintf(stderr, "dtmfrx: dtmf_rx_init failed\n");
        return 1;
    }
    if (!bench) {
        run(s, &r, x, n);
        dtmf_rx_free(s);
        free(x);
        return fflush(stdout) == 0 ? 0 : 1;
    }

    size_t frames = n / FRAME; /* whole frames only, so every timed call is 160 samples */
    if (frames == 0) {
        fprintf(stderr, "dtmfrx: %s: shorter than one frame\n", path);
        return 1;
    }
    /* Warm-up: one untimed pass over the file (caches, branch predictors). */
    run(s, &r, x, frames * FRAME);
    /* Timed: one detector kept running across passes, as on a live call. */
    int64_t t0 = now_ns();
    for (long it = 0; it < iterations; it++) {
        run(s, &r, x, frames * FRAME);
    }
    int64_t t1 = now_ns();
    double ns = (double)(t1 - t0) / ((double)frames * (double)iterations);
    printf("ns_per_frame=%.1f frames=%zu iterations=%ld\n", ns, frames, iterations);
    dtmf_rx_free(s);
    free(x);
    return 0;
}
