FROM --platform=linux/amd64 base-images-e2e/bookworm-minbase-amd64:1
ENV E2E="broken"
