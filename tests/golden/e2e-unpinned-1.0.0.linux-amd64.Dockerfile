FROM --platform=linux/amd64 127.0.0.1:5000/base-images-e2e/bookworm-python:2
RUN ["true"]
