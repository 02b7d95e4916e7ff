# One image for every process of the service: the API (the default command), the dask scheduler and
# the dask workers (deploy/docker-compose.yml runs them all from it, so their library versions match).
# rasterio's wheels carry GDAL and PROJ: no system GDAL is installed. Mount a volume on /data to keep
# jobs and results; every API replica and worker must see the same /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --system --uid 10001 --create-home --home-dir /home/wps wps \
    && mkdir /data && chown wps:wps /data

WORKDIR /srv
# Dependencies first, from pyproject.toml alone: a change of the code does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir app && touch app/__init__.py \
    && pip install --no-cache-dir . && pip uninstall -y -q rasterwps \
    && rm -rf app build ./*.egg-info
COPY app ./app
COPY schemas ./schemas
RUN pip install --no-cache-dir --no-deps -e . \
    && mkdir /srv/numba-cache && chown wps:wps /srv/numba-cache

USER wps
# the hydrology kernels are compiled (numba) once here, as the user that runs them, not by every
# API process and dask worker on its first hydrology job
ENV NUMBA_CACHE_DIR=/srv/numba-cache
RUN python -m app.algorithms.hydrology.compile
ENV WPS_DATA_DIR=/data WPS_PUBLIC_URL=http://127.0.0.1:8000
EXPOSE 8000
# Ready = a result can be written under /data and the job store answers (the scheduler and workers
# of deploy/docker-compose.yml declare their own checks).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
# X-Forwarded-* are believed only from WPS_TRUSTED_PROXIES (checked by the app itself)
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--no-proxy-headers"]
