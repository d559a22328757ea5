# syntax=docker/dockerfile:1
# courierd's image for those who build with Docker: docker build -t courierd .
# `make image` builds the same image without a daemon (deploy/image): the same empty base,
# user, entrypoint, command, working directory and environment; deploy's tests compare them.

# The console and the applicants' page, embedded in the binary.
FROM node:22-bookworm-slim AS web
WORKDIR /src/api/web
COPY api/web/package.json api/web/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY api/web/ ./
RUN node build.mjs

FROM golang:1.26-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=web /src/api/web/dist/ api/web/dist/
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -X main.version=${VERSION}" -o /out/courierd ./cmd/courierd
# The runtime has no shell: its users and directories are made here.
RUN mkdir -p /out/etc /out/tmp /out/data/keys /out/data/blobs && chmod 1777 /out/tmp && \
    chmod 0750 /out/data /out/data/blobs && chmod 0700 /out/data/keys && \
    printf 'root:x:0:0:root:/root:/sbin/nologin\ncourierd:x:65532:65532:courierd:/data:/sbin/nologin\n' > /out/etc/passwd && \
    printf 'root:x:0:\ncourierd:x:65532:\n' > /out/etc/group

FROM scratch
ARG VERSION=dev
ARG SOURCE=
LABEL org.opencontainers.image.title="courierd" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /usr/share/zoneinfo /usr/share/zoneinfo
COPY --from=build /out/etc/passwd /out/etc/group /etc/
COPY --from=build /out/tmp /tmp
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build /out/courierd /courierd
ENV HOST=0.0.0.0 \
    DATA_KEY_DIR=/data/keys \
    BLOB_DIR=/data/blobs
USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080/tcp
STOPSIGNAL SIGTERM
ENTRYPOINT ["/courierd"]
CMD ["serve"]
