#!/usr/bin/env python3
"""The issue-10 flood by hand: N INVITEs that nobody follows up (no ACK, no
RTP), from one UDP socket, as fast as it can; prints the final (or first
180/183) response of each call, counted by code.

    hushphone-server serve --data /tmp/flood --http 127.0.0.1:28080 \
        --sip 127.0.0.1:25060 --metrics 127.0.0.1:29464 [--max-queue-wait 10s] &
    curl -s 127.0.0.1:29464/metrics | grep -E '^(go_goroutines|process_open_fds) '
    python3 build/invite-flood.py 100 127.0.0.1 127.0.0.1:25060
    curl -s 127.0.0.1:29464/metrics | grep -E '^(go_goroutines|process_open_fds) '

Loopback only: SOURCE is the local address to send from (another 127.x
address makes another trunk host), SERVER the server's SIP address."""
import socket
import sys
import time


def main():
    n, src = int(sys.argv[1]), sys.argv[2]
    host, port = sys.argv[3].rsplit(":", 1)
    dst = (host, int(port))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    lp = s.getsockname()[1]
    for i in range(n):
        sdp = f"v=0\r\no=- {i} 1 IN IP4 {src}\r\ns=-\r\nc=IN IP4 {src}\r\nt=0 0\r\nm=audio {lp + 2} RTP/AVP 0\r\n"
        cid = f"flood-{i}-{time.time()}"
        msg = (f"INVITE sip:hushphone@{sys.argv[3]} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {src}:{lp};branch=z9hG4bK-{cid}\r\n"
               f"From: <sip:0123@{src}:{lp}>;tag={cid}\r\nTo: <sip:hushphone@{sys.argv[3]}>\r\n"
               f"Call-ID: {cid}\r\nCSeq: 1 INVITE\r\nContact: <sip:0123@{src}:{lp}>\r\nMax-Forwards: 70\r\n"
               f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}")
        s.sendto(msg.encode(), dst)
    codes, seen = {}, set()
    s.settimeout(3)
    try:
        while len(seen) < n:
            d = s.recv(65535).decode(errors="replace")
            code = int(d.split(" ", 2)[1])
            cid = next((l for l in d.split("\r\n") if l.lower().startswith("call-id")), "")
            if code >= 180 and cid not in seen:
                seen.add(cid)
                codes[code] = codes.get(code, 0) + 1
    except socket.timeout:
        pass
    print("responses by code:", dict(sorted(codes.items())))


if __name__ == "__main__":
    main()
