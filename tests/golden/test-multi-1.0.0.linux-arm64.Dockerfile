FROM --platform=linux/arm64 debian:bookworm-slim@sha256:3333333333333333333333333333333333333333333333333333333333333333
LABEL "org.opencontainers.image.title"="test-multi"
RUN ["/bin/sh","-c","mkdir -p \"$(dirname \"$1\")\" && printf '%s' \"$2\" > \"$1\" && chmod 644 \"$1\"","sh","/etc/motd","hello\n"]
RUN ["useradd","--uid","1000","--create-home","airbyte"]
USER airbyte
RUN ["mkdir","-p","/home/airbyte/work"]
USER root
USER airbyte
ENTRYPOINT ["/bin/sh","-c"]
CMD ["echo ready"]
