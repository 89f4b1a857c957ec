# The agent with Chromium, as a non-root user.
#
#   docker build -t clay-agent:local --build-arg VERSION=$(git describe --tags --always) .
#   docker run --rm clay-agent:local list --help
#
# See docker-compose.yml for the fixture smoke test and scheduled snapshots,
# and deploy/kubernetes for a CronJob.

FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/agent ./cmd/agent

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      chromium \
      tini \
      ca-certificates \
      fonts-liberation \
 && rm -rf /var/lib/apt/lists/*

# A fixed uid/gid so that volumes, Kubernetes' runAsUser/fsGroup and
# host-side file ownership (the session secret) can name it.
# /data is the working directory: ./artifacts and, through XDG_STATE_HOME,
# the audit log and lock files live under it. /snapshots exists so that a
# named volume mounted there starts out owned by the agent.
RUN groupadd --gid 10001 agent \
 && useradd --uid 10001 --gid 10001 --home-dir /home/agent --create-home \
      --shell /usr/sbin/nologin agent \
 && install -d -o 10001 -g 10001 -m 0700 /data /data/state /snapshots

COPY --from=build /out/agent /usr/local/bin/agent

ENV CHROME_PATH=/usr/lib/chromium/chromium \
    CLAY_CHROME_NO_SANDBOX=1 \
    HOME=/home/agent \
    XDG_STATE_HOME=/data/state

USER 10001:10001
WORKDIR /data
EXPOSE 8080

# Meaningful for `agent serve`; other commands override or disable it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/agent","healthcheck","--url","http://127.0.0.1:8080/healthz"]

ENTRYPOINT ["/usr/bin/tini","--","/usr/local/bin/agent"]
CMD ["--help"]
