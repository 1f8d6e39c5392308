# syntax=docker/dockerfile:1
# ontap-sim in a container, for labs: `docker build -t ontap-sim:lab .`
#
# Stage 1 builds the release binary with the same command the README gives; stage 2 runs it on
# debian:bookworm-slim (the same Debian as the builder, so the same glibc) as a non-root user.
# The state dir is a volume; deploy/docker/entrypoint.sh turns the environment into `serve`
# flags (see it for ONTAP_SIM_LISTEN, ONTAP_SIM_NFS_LISTEN, ONTAP_SIM_ADMIN_TOKEN, ...).

ARG RUST_VERSION=1.95.0

FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --release --locked

FROM debian:bookworm-slim
# uid/gid 10001: NFS clients create files as this uid (docs/lab.md, "Who owns the files").
RUN groupadd --system --gid 10001 ontap-sim \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/ontap-sim \
       --no-create-home --shell /usr/sbin/nologin ontap-sim \
    && mkdir -p /var/lib/ontap-sim /etc/ontap-sim \
    && chown 10001:10001 /var/lib/ontap-sim
COPY --from=build /src/target/release/ontap-sim /usr/local/bin/ontap-sim
COPY --chmod=0755 deploy/docker/entrypoint.sh /usr/local/bin/ontap-sim-entrypoint
COPY --chmod=0755 deploy/docker/healthcheck.sh /usr/local/bin/ontap-sim-healthcheck
ENV ONTAP_SIM_STATE_DIR=/var/lib/ontap-sim
USER 10001:10001
WORKDIR /var/lib/ontap-sim
# management (ZAPI over HTTPS), NFS v3 + MOUNT v3, portmapper, control API (loopback unless
# ONTAP_SIM_ADMIN_TOKEN is set)
EXPOSE 8443/tcp 2049/tcp 111/tcp 8081/tcp
VOLUME ["/var/lib/ontap-sim"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["ontap-sim-healthcheck", "/healthz"]
ENTRYPOINT ["ontap-sim-entrypoint"]
CMD ["serve"]
