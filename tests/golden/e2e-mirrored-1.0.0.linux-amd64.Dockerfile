FROM --platform=linux/amd64 base-images-e2e/bookworm-minbase-amd64:1
RUN ["/bin/sh","-c","mkdir -p \"$(dirname \"$1\")\" && printf '%s' \"$2\" > \"$1\" && chmod 644 \"$1\"","sh","/etc/e2e-mirrored","1.0.0\n"]
