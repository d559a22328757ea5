# Sourced by the provisioning scripts: installs Debian packages when we may (root or
# password-less sudo) and the setting named by the caller does not forbid it.
# Usage: apt_install SETTING_NAME package...  (SETTING_NAME=0 in the environment forbids)
apt_install() {
  local setting=$1; shift
  [ "${!setting:-1}" = 0 ] && return 1
  command -v apt-get >/dev/null || return 1
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    sudo -n true 2>/dev/null || return 1
    sudo="sudo -n"
  fi
  echo "installing Debian's $* ($setting=0 forbids this)" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}
