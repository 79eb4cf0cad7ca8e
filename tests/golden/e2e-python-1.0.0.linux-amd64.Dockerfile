FROM --platform=linux/amd64 base-images-e2e/bookworm-python:2
ENV AIRBYTE_BASE_IMAGE="e2e-python:1.0.0"
ENV PIP_BREAK_SYSTEM_PACKAGES="1"
LABEL "io.airbyte.base_image"="e2e-python:1.0.0"
RUN ["sh","-c","apt-get update && apt-get install -y --no-install-recommends tzdata && rm -rf /var/lib/apt/lists/*"]
RUN ["ln","-snf","/usr/share/zoneinfo/Etc/UTC","/etc/localtime"]
RUN --mount=type=cache,id=e2e-pip,target=/root/.cache/pip ["pip","install","six==1.16.0"]
