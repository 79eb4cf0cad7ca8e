FROM --platform=linux/amd64 docker.io/library/amazoncorretto:21-al2023@sha256:5454cb606e803fce56861fdbc9eab365eaa2ab4f357ceb8c1d56f4f8c8a7bc33
RUN ["sh","-c","yum install -y shadow-utils tar openssl findutils && yum update -y --security && yum clean all && rm -rf /var/cache/yum && groupadd --gid 1000 airbyte && useradd --uid 1000 --gid airbyte --shell /bin/bash --create-home airbyte && mkdir /secrets /config && mkdir --mode 755 /airbyte /custom_cache && chown -R airbyte:airbyte /airbyte /custom_cache /secrets /config /usr/share/pki/ca-trust-source /etc/pki/ca-trust /tmp"]
ENV AIRBYTE_SPEC_CMD="/airbyte/javabase.sh --spec"
ENV AIRBYTE_CHECK_CMD="/airbyte/javabase.sh --check"
ENV AIRBYTE_DISCOVER_CMD="/airbyte/javabase.sh --discover"
ENV AIRBYTE_READ_CMD="/airbyte/javabase.sh --read"
ENV AIRBYTE_WRITE_CMD="/airbyte/javabase.sh --write"
ENV AIRBYTE_ENTRYPOINT="/airbyte/base.sh"
WORKDIR /airbyte
RUN ["sh","-c","curl -fsSL -o /airbyte/dd-java-agent.jar https://dtdg.co/latest-java-tracer && chmod 755 /airbyte/dd-java-agent.jar"]
RUN ["sh","-c","curl -fsSL -o /airbyte/base.sh https://raw.githubusercontent.com/airbytehq/airbyte/6d8a3a2bc4f4ca79f10164447a90fdce5c9ad6f9/airbyte-integrations/bases/base/base.sh && chmod 755 /airbyte/base.sh"]
RUN ["sh","-c","curl -fsSL -o /airbyte/javabase.sh https://raw.githubusercontent.com/airbytehq/airbyte/6d8a3a2bc4f4ca79f10164447a90fdce5c9ad6f9/airbyte-integrations/bases/base-java/javabase.sh && chmod 755 /airbyte/javabase.sh"]
USER airbyte
ENTRYPOINT ["/airbyte/base.sh"]
ENV AIRBYTE_BASE_BASE_IMAGE="docker.io/library/amazoncorretto:21-al2023@sha256:5454cb606e803fce56861fdbc9eab365eaa2ab4f357ceb8c1d56f4f8c8a7bc33"
ENV AIRBYTE_BASE_IMAGE="airbyte-java-connector-base:2.0.0"
LABEL "io.airbyte.base_base_image"="docker.io/library/amazoncorretto:21-al2023@sha256:5454cb606e803fce56861fdbc9eab365eaa2ab4f357ceb8c1d56f4f8c8a7bc33"
LABEL "io.airbyte.base_image"="airbyte-java-connector-base:2.0.0"
