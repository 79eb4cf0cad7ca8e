FROM --platform=linux/amd64 docker.io/library/python:3.9.19-slim-bookworm@sha256:088d9217202188598aac37f8db0929345e124a82134ac66b8bb50ee9750b045b
RUN ["ln","-snf","/usr/share/zoneinfo/Etc/UTC","/etc/localtime"]
RUN ["sh","-c","apt-get update && apt-get install -y socat=1.7.4.4-2"]
RUN ["adduser","--uid","1000","--system","--group","--no-create-home","airbyte"]
RUN ["mkdir","--mode","755","/custom_cache"]
RUN ["mkdir","--mode","755","/airbyte"]
RUN ["chown","airbyte:airbyte","/airbyte"]
ENV PIP_CACHE_DIR="/custom_cache/pip"
RUN --mount=type=cache,id=pip-cache,target=/custom_cache/pip ["pip","install","--upgrade","pip==24.0","setuptools==70.0.0"]
ENV POETRY_VIRTUALENVS_CREATE="false"
ENV POETRY_VIRTUALENVS_IN_PROJECT="false"
ENV POETRY_NO_INTERACTION="1"
RUN --mount=type=cache,id=pip-cache,target=/custom_cache/pip ["pip","install","poetry==1.6.1"]
RUN --mount=type=cache,id=pip-cache,target=/custom_cache/pip ["sh","-c","apt-get update && apt-get install -y tesseract-ocr=5.3.0-2 poppler-utils=22.12.0-2+b1"]
RUN --mount=type=cache,id=pip-cache,target=/custom_cache/pip ["mkdir","-p","755","/usr/share/nltk_data"]
RUN --mount=type=cache,id=pip-cache,target=/custom_cache/pip ["python","-c","import io, urllib.request, zipfile\nbase = 'https://github.com/nltk/nltk_data/raw/5db857e6f7df11eabb5e5665836db9ec8df07e28/packages/'\nfor part in ('tokenizers/punkt', 'taggers/averaged_perceptron_tagger'):\n    data = urllib.request.urlopen(base + part + '.zip').read()\n    zipfile.ZipFile(io.BytesIO(data)).extractall('/usr/share/nltk_data/' + part.split('/')[0])\n"]
ENV AIRBYTE_BASE_BASE_IMAGE="docker.io/library/python:3.9.19-slim-bookworm@sha256:088d9217202188598aac37f8db0929345e124a82134ac66b8bb50ee9750b045b"
ENV AIRBYTE_BASE_IMAGE="airbyte-python-connector-base:1.2.2-rc.1"
LABEL "io.airbyte.base_base_image"="docker.io/library/python:3.9.19-slim-bookworm@sha256:088d9217202188598aac37f8db0929345e124a82134ac66b8bb50ee9750b045b"
LABEL "io.airbyte.base_image"="airbyte-python-connector-base:1.2.2-rc.1"
