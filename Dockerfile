# careerbot's image: `podman build -t careerbot .` (or `docker build`); README "Container".
#
# BASE is any Debian-based image with Python 3.11 and `python3 -m venv`: python:3.11-slim by
# default, or one made from Debian's packages where no registry is reachable
# (.ci/container builds one with debootstrap; Debian 12's python3 is 3.11).
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
# Behind a TLS-intercepting proxy, pass its CA bundle: --secret id=ca,src=/path/to/bundle.pem
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY intents intents
COPY knowledge knowledge
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    python3 -m venv /opt/careerbot \
    && /opt/careerbot/bin/pip install --no-cache-dir --disable-pip-version-check . \
    && /opt/careerbot/bin/careerbot check

FROM ${BASE}
# tzdata: the system's zone files (the wheel's tzdata package is the fallback); no recommends
RUN if ! dpkg -s tzdata >/dev/null 2>&1; then \
        apt-get update && apt-get install -y --no-install-recommends tzdata \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin careerbot \
    && mkdir -p /data && chown careerbot:careerbot /data
COPY --from=build /opt/careerbot /opt/careerbot

# The SQLite file (the default store) and anything else the bot writes live on the volume;
# with CAREERBOT_DB=postgresql://... the volume only holds what an operator puts there
# (e.g. CAREERBOT_DATA_DIR=/data/content for curators' edited intents/ and knowledge/).
ENV PATH=/opt/careerbot/bin:$PATH \
    HOME=/data \
    PYTHONUNBUFFERED=1 \
    CAREERBOT_DB=/data/careerbot.db \
    CAREERBOT_WEBHOOK_LISTEN=0.0.0.0 \
    CAREERBOT_PORT=8443
VOLUME ["/data"]
WORKDIR /data
USER careerbot
EXPOSE 8443

# `check` validates the data the bot serves (the shipped or CAREERBOT_DATA_DIR's) and the
# semantic model's artifact; it neither needs the token nor touches the store.
HEALTHCHECK --interval=5m --timeout=60s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot", "check"]
ENTRYPOINT ["careerbot"]
CMD ["run"]
