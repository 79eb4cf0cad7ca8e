FROM --platform=linux/amd64 debian:bookworm-slim@sha256:4444444444444444444444444444444444444444444444444444444444444444
ENV LANG="C.UTF-8"
ENV QUOTED="a \"b\" \$HOME \\ c"
# without_env_variable(LANG): a Dockerfile cannot remove a variable; it is set empty
ENV LANG=""
WORKDIR /app
LABEL "org.opencontainers.image.source"="https://example.invalid/repo"
RUN ["sh","-c","echo \"$HOME\" > /tmp/home"]
USER nobody
WORKDIR /tmp
RUN ["env","PIP_NO_CACHE_DIR=1","pip","install","requests"]
WORKDIR /app
USER root
RUN ["/bin/sh","-c","mkdir -p \"$(dirname \"$1\")\" && printf '%s' \"$2\" > \"$1\" && chmod 600 \"$1\"","sh","/app/config.json","{\"a\": 1}\nline 2 'quoted' %s\n"]
RUN --mount=type=cache,id=pip,target=/root/.cache/pip ["pip","install","six"]
USER nobody
ENTRYPOINT ["python","-m","main"]
CMD ["--help"]
