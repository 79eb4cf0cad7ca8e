FROM --platform=linux/arm64 127.0.0.1:5000/base-images-e2e/synthetic:amd64@sha256:a69bb7c405a3077753fb09ab9da684b802d2e1c4914d1545541f93734102ef45
ENV PINNED="amd64"
