FROM --platform=linux/amd64 base-images-e2e/bookworm-python:2
RUN ["/bin/sh","-c","mkdir -p \"$(dirname \"$1\")\" && printf '%s' \"$2\" > \"$1\" && chmod 600 \"$1\"","sh","/etc/broken.txt","x\n"]
