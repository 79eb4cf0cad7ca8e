FROM --platform=linux/amd64 docker.io/python:3.9.18-slim-bookworm@sha256:44b7f161ed03f85e96d423b9916cdc8cb0509fb970fd643bdbc9896d49e1cad0
ENV PIP_DISABLE_PIP_VERSION_CHECK="1"
RUN ["pip","install","--upgrade","pip==23.2.1"]
WORKDIR /airbyte/integration_code
