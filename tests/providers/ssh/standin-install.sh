#!/bin/sh
# A stand-in for K3s's install script (https://get.k3s.io): it obeys the real one's contract
# for what the ssh provider uses, air-gapped or run from a download.
#  - command: the first of "$INSTALL_K3S_EXEC $@" if server|agent, else agent when K3S_URL is
#    set, else server; the rest are k3s flags (--data-dir, --write-kubeconfig, ...).
#  - environment: INSTALL_K3S_VERSION, INSTALL_K3S_BIN_DIR, INSTALL_K3S_SYSTEMD_DIR,
#    INSTALL_K3S_SKIP_DOWNLOAD (true: the binary is already in BIN_DIR; else it is downloaded,
#    as the real script fetches it from GitHub, from $K3S_STANDIN_DOWNLOAD/k3s-<version>),
#    K3S_URL, K3S_TOKEN (kept in the service's env file, mode 0600, as the real script does).
#  - files: the service unit and env file, k3s-killall.sh, k3s[-agent]-uninstall.sh; the
#    service is (re)started and, like systemd's notify, waited for.
#  - test hooks: K3S_STANDIN_DIR/install.log gets a "begin" line when an install starts and
#    one line per finished install or uninstall, each after a timestamp (seconds, nanosecond
#    resolution); K3S_STANDIN_DIR/install.env holds the last install's INSTALL_K3S_*
#    environment; a file K3S_STANDIN_DIR/slow holding seconds makes the install sleep first.
set -e

BIN_DIR=${INSTALL_K3S_BIN_DIR:-/usr/local/bin}
SYSTEMD_DIR=${INSTALL_K3S_SYSTEMD_DIR:-/etc/systemd/system}
LOG_DIR=${K3S_STANDIN_DIR:-/var/log}

set -- ${INSTALL_K3S_EXEC} "$@"
case "$1" in
  server|agent) CMD_K3S=$1; shift ;;
  *) if [ -n "${K3S_URL}" ]; then CMD_K3S=agent; else CMD_K3S=server; fi ;;
esac
if [ "${CMD_K3S}" = server ]; then NAME=k3s; else NAME=k3s-agent; fi

DATA_DIR=/var/lib/rancher/k3s
KUBECONFIG_FILE=/etc/rancher/k3s/k3s.yaml
NODE_NAME=
prev=
for arg in "$@"; do
  case "$prev" in
    --data-dir|-d) DATA_DIR=$arg ;;
    --write-kubeconfig|-o) KUBECONFIG_FILE=$arg ;;
    --node-name) NODE_NAME=$arg ;;
  esac
  case "$arg" in
    --data-dir=*) DATA_DIR=${arg#*=} ;;
    --write-kubeconfig=*) KUBECONFIG_FILE=${arg#*=} ;;
    --node-name=*) NODE_NAME=${arg#*=} ;;
  esac
  prev=$arg
done

mkdir -p "${LOG_DIR}"
echo "$(date +%s.%N) begin ${CMD_K3S} ${INSTALL_K3S_VERSION} ${NODE_NAME}" >> "${LOG_DIR}/install.log"
{ env | grep '^INSTALL_K3S_' || true; } | sort > "${LOG_DIR}/install.env"

if [ "${INSTALL_K3S_SKIP_DOWNLOAD}" != true ]; then
  if [ -z "${K3S_STANDIN_DOWNLOAD}" ] || [ -z "${INSTALL_K3S_VERSION}" ]; then
    echo "[ERROR] set K3S_STANDIN_DOWNLOAD and INSTALL_K3S_VERSION to download k3s" >&2
    exit 1
  fi
  mkdir -p "${BIN_DIR}"
  echo "[INFO] Downloading k3s ${INSTALL_K3S_VERSION}"
  curl -sfL -o "${BIN_DIR}/k3s.download" "${K3S_STANDIN_DOWNLOAD}/k3s-${INSTALL_K3S_VERSION}" || {
    echo "[ERROR] downloading k3s failed" >&2; exit 1; }
  chmod 755 "${BIN_DIR}/k3s.download"
  mv -f "${BIN_DIR}/k3s.download" "${BIN_DIR}/k3s"
fi
if [ ! -x "${BIN_DIR}/k3s" ]; then
  echo "[ERROR] ${BIN_DIR}/k3s is missing" >&2
  exit 1
fi
have=$("${BIN_DIR}/k3s" --version | head -n 1 | cut -d ' ' -f 3)
if [ -n "${INSTALL_K3S_VERSION}" ] && [ "$have" != "${INSTALL_K3S_VERSION}" ]; then
  echo "[ERROR] ${BIN_DIR}/k3s is $have, not ${INSTALL_K3S_VERSION}" >&2
  exit 1
fi
if [ -f "${LOG_DIR}/slow" ]; then
  sleep "$(cat "${LOG_DIR}/slow")"
fi
echo "[INFO] Installing k3s ${have} (${CMD_K3S})"

mkdir -p "${SYSTEMD_DIR}" "${LOG_DIR}"
UNIT=${SYSTEMD_DIR}/${NAME}.service
PIDFILE=${UNIT}.pid
umask 077
: > "${UNIT}.env"
[ -n "${K3S_URL}" ] && echo "K3S_URL=${K3S_URL}" >> "${UNIT}.env"
[ -n "${K3S_TOKEN}" ] && echo "K3S_TOKEN=${K3S_TOKEN}" >> "${UNIT}.env"
umask 022
{
  echo "[Service]"
  echo "EnvironmentFile=-${UNIT}.env"
  echo "ExecStart=${BIN_DIR}/k3s ${CMD_K3S} $*"
} > "${UNIT}"

cat > "${BIN_DIR}/k3s-killall.sh" <<EOF
#!/bin/sh
for f in "${SYSTEMD_DIR}"/k3s*.service.pid; do
  [ -f "\$f" ] && kill "\$(cat "\$f")" 2>/dev/null
  rm -f "\$f"
done
exit 0
EOF
chmod 755 "${BIN_DIR}/k3s-killall.sh"

cat > "${BIN_DIR}/${NAME}-uninstall.sh" <<EOF
#!/bin/sh
[ -f "${PIDFILE}" ] && kill "\$(cat "${PIDFILE}")" 2>/dev/null
rm -f "${PIDFILE}" "${UNIT}" "${UNIT}.env" "${UNIT}.log"
rm -rf "${DATA_DIR}" "\$(dirname "${KUBECONFIG_FILE}")"
rm -f "${BIN_DIR}/k3s" "${BIN_DIR}/k3s-killall.sh" "${BIN_DIR}/${NAME}-uninstall.sh"
echo "\$(date +%s.%N) uninstall ${CMD_K3S} ${NODE_NAME}" >> "${LOG_DIR}/install.log"
EOF
chmod 755 "${BIN_DIR}/${NAME}-uninstall.sh"

# systemctl restart: stop the old process, start the new one with the unit's environment.
if [ -f "${PIDFILE}" ]; then
  kill "$(cat "${PIDFILE}")" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$(cat "${PIDFILE}")" 2>/dev/null || break; sleep 0.1; done
fi
rm -f "${DATA_DIR}/server/ready"
(
  set -a; . "${UNIT}.env"; set +a
  exec setsid "${BIN_DIR}/k3s" "${CMD_K3S}" "$@" > "${UNIT}.log" 2>&1 < /dev/null
) &
echo $! > "${PIDFILE}"

# Type=notify: a server is started once its API serves; an agent once it runs.
if [ "${CMD_K3S}" = server ] && [ -z "${K3S_URL}" ]; then
  for _ in $(seq 1 300); do [ -f "${DATA_DIR}/server/ready" ] && break; sleep 0.1; done
  [ -f "${DATA_DIR}/server/ready" ] || { echo "[ERROR] k3s did not start" >&2; exit 1; }
else
  sleep 0.5
fi
kill -0 "$(cat "${PIDFILE}")" 2>/dev/null || { echo "[ERROR] ${NAME} exited" >&2; exit 1; }
echo "$(date +%s.%N) install ${CMD_K3S} ${have} ${NODE_NAME}" >> "${LOG_DIR}/install.log"
echo "[INFO] systemd: Starting ${NAME}"
