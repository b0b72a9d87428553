# hubchat in a container: build with gcc and make on Debian bookworm, run
# from bookworm-slim as a non-root user. The server listens on every address
# inside the container and stops cleanly on SIGTERM (exit 0 within 2 s).
# It logs with -q, as the systemd unit and compose.yaml do: connections,
# logins and refusals, not what people say (docs/OPERATIONS.md, "What the
# services log"). Rooms' history is kept in the volume /var/lib/hubchat,
# owned by the non-root user; the web page is on port 8000.
#   docker build -t hubchat .        (or podman build)
#   docker run --rm -p 4000:4000 -p 8000:8000 \
#       -v hubchat-data:/var/lib/hubchat hubchat
FROM docker.io/library/debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile *.c *.h ./
COPY web ./web
RUN make server client peer

FROM docker.io/library/debian:bookworm-slim
RUN useradd --system --no-create-home --uid 10001 hubchat \
 && install -d -o hubchat -g hubchat -m 700 /var/lib/hubchat
COPY --from=build /src/server /usr/local/bin/hubchat-server
COPY --from=build /src/client /usr/local/bin/hubchat
COPY --from=build /src/peer /usr/local/bin/hubchat-peer
USER hubchat
VOLUME /var/lib/hubchat
EXPOSE 4000 8000
STOPSIGNAL SIGTERM
ENTRYPOINT ["hubchat-server", "-a", "::", "-q", "--data-dir", "/var/lib/hubchat"]
CMD ["-p", "4000", "--web", "8000"]
