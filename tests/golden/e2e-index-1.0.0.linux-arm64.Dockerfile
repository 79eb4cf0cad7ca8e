FROM --platform=linux/arm64 127.0.0.1:5000/base-images-e2e/synthetic:index@sha256:54c07345c15aebb843fd31fbc3b6f9aed1fce6d59ddc7e743db8e98c8e56ad71
ENV PINNED="index"
