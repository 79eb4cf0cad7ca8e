FROM --platform=linux/amd64 debian:bookworm-slim@sha256:1111111111111111111111111111111111111111111111111111111111111111
LABEL "org.opencontainers.image.title"="test-multi"
RUN ["/bin/sh","-c","mkdir -p \"$(dirname \"$1\")\" && printf '%s' \"$2\" > \"$1\" && chmod 644 \"$1\"","sh","/etc/motd","hello\n"]
