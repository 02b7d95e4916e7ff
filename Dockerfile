# The service on its embedded defaults; mount a volume on /data to keep jobs and results.
FROM python:3.11-slim
WORKDIR /srv
COPY pyproject.toml README.md ./
COPY app ./app
COPY schemas ./schemas
RUN pip install --no-cache-dir -e . && useradd --system wps && mkdir /data && chown wps /data
USER wps
ENV WPS_DATA_DIR=/data WPS_PUBLIC_URL=http://127.0.0.1:8000
EXPOSE 8000
# X-Forwarded-* are believed only from WPS_TRUSTED_PROXIES (checked by the app itself)
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--no-proxy-headers"]
