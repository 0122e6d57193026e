# Explanation Explorer on port 8501.
#   CPU:  docker build -t explanation-explorer . && docker run -p 8501:8501 explanation-explorer
#   GPU:  docker build --build-arg TENSORFLOW='tensorflow[and-cuda]==2.21.0' -t explanation-explorer:gpu .
#         docker run --gpus all -p 8501:8501 explanation-explorer:gpu
# The GPU build swaps tensorflow-cpu for the CUDA build (never both: they share one install folder).
FROM python:3.11-slim

ARG TENSORFLOW=tensorflow-cpu==2.21.0
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    XDG_CACHE_HOME=/var/cache/explorer

WORKDIR /app
COPY requirements.txt .
RUN sed -i "s|^tensorflow-cpu==.*|${TENSORFLOW}|" requirements.txt \
    && pip install --no-cache-dir -r requirements.txt

COPY . .
# Convert the bundled model's weights once, at build time, into the image's cache.
RUN useradd --create-home --uid 10001 explorer \
    && mkdir -p "$XDG_CACHE_HOME" \
    && python -c "import models; models.get_source('efficientnet_lite0').load()" \
    && chown -R explorer "$XDG_CACHE_HOME"
USER explorer

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8501/_stcore/health')"
CMD ["python", "-m", "ui.serve", "--server.address=0.0.0.0", "--server.port=8501"]
