# msgsim in a container, for clusters without a Rust toolchain: the release binary and the
# bundled scenarios on a slim Debian. Build from the repository's root:
#
#   docker build -t msgsim .
#   docker run --rm msgsim sweep scenarios/quickstart.ron --seeds 0..1000
#
# The first stage builds with the official Rust image; the second copies only what a run needs.
# Both stages use Debian 13 (trixie), so the binary finds the C library it was linked against.

FROM rust:1.95-slim-trixie AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin msgsim

FROM debian:trixie-slim
COPY --from=build /src/target/release/msgsim /usr/local/bin/msgsim
COPY scenarios/ /msgsim/scenarios/
# Scenario paths in the deploy/ files are relative to here, as they are to the repository's root,
# so a sweep's printed reproduce commands work in a checkout too.
WORKDIR /msgsim
ENTRYPOINT ["msgsim"]
CMD ["--help"]
