# https://github.com/nltk/nltk_data/raw/5db857e6f7df11eabb5e5665836db9ec8df07e28/packages/tokenizers/punkt.zip is not pinned yet: its sha256 is recorded in versions.lock by the first build
FROM docker.io/library/busybox:1.36.1@sha256:73aaf090f3d85aa34ee199857f03fa3a95c8ede2ffd4cc2cdb5b94e566b11662 AS fetched-12
ADD https://github.com/nltk/nltk_data/raw/5db857e6f7df11eabb5e5665836db9ec8df07e28/packages/tokenizers/punkt.zip /archive
RUN ["sh","-c","mkdir -p /out && unzip -q /archive -d /out"]
# https://github.com/nltk/nltk_data/raw/5db857e6f7df11eabb5e5665836db9ec8df07e28/packages/taggers/averaged_perceptron_tagger.zip is not pinned yet: its sha256 is recorded in versions.lock by the first build
FROM docker.io/library/busybox:1.36.1@sha256:73aaf090f3d85aa34ee199857f03fa3a95c8ede2ffd4cc2cdb5b94e566b11662 AS fetched-13
ADD https://github.com/nltk/nltk_data/raw/5db857e6f7df11eabb5e5665836db9ec8df07e28/packages/taggers/averaged_perceptron_tagger.zip /archive
RUN ["sh","-c","mkdir -p /out && unzip -q /archive -d /out"]
FROM --platform=linux/arm64 docker.io/library/python:3.10.14-slim-bookworm@sha256:3b37199fbc5a730a551909b3efa7b29105c859668b7502451c163f2a4a7ae1ed
RUN --mount=type=cache,id=pip_cache,target=/root/.cache/pip ["ln","-snf","/usr/share/zoneinfo/Etc/UTC","/etc/localtime"]
RUN --mount=type=cache,id=pip_cache,target=/root/.cache/pip ["pip","install","--upgrade","pip==24.0","setuptools==70.0.0"]
ENV POETRY_VIRTUALENVS_CREATE="false"
ENV POETRY_VIRTUALENVS_IN_PROJECT="false"
ENV POETRY_NO_INTERACTION="1"
RUN --mount=type=cache,id=pip_cache,target=/root/.cache/pip ["pip","install","poetry==1.6.1"]
RUN --mount=type=cache,id=pip_cache,target=/root/.cache/pip ["sh","-c","apt-get update && apt-get upgrade -y && apt-get dist-upgrade -y && apt-get clean"]
RUN --mount=type=cache,id=pip_cache,target=/root/.cache/pip ["sh","-c","apt-get install -y socat=1.7.4.4-2"]
RUN --mount=type=cache,id=pip_cache,target=/root/.cache/pip ["sh","-c","apt-get update && apt-get install -y tesseract-ocr=5.3.0-2 poppler-utils=22.12.0-2+b1"]
RUN --mount=type=cache,id=pip_cache,target=/root/.cache/pip ["mkdir","/usr/share/nltk_data"]
COPY --from=fetched-12 /out/ /usr/share/nltk_data/tokenizers/
COPY --from=fetched-13 /out/ /usr/share/nltk_data/taggers/
