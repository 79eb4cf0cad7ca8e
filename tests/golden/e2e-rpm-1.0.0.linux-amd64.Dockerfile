FROM --platform=linux/amd64 base-images-e2e/bookworm-python:2
RUN ["sh","-c","apt-get update && apt-get install -y --no-install-recommends rpm && rm -rf /var/lib/apt/lists/*"]
RUN ["/bin/sh","-c","mkdir -p \"$(dirname \"$1\")\" && printf '%s' \"$2\" > \"$1\" && chmod 644 \"$1\"","sh","/tmp/hello.spec","Name: hello\nEpoch: 2\nVersion: 1.2.3\nRelease: 4\nSummary: An RPM for the SBOM test\nLicense: MIT\nBuildArch: noarch\n%description\nAn RPM for the SBOM test.\n%files\n"]
RUN ["sh","-c","rpmbuild --define '_topdir /tmp/rpmbuild' -bb /tmp/hello.spec && rpm --dbpath /var/lib/rpm --initdb && rpm --dbpath /var/lib/rpm -i --nodeps /tmp/rpmbuild/RPMS/noarch/hello-1.2.3-4.noarch.rpm && rm -rf /tmp/rpmbuild /tmp/hello.spec"]
