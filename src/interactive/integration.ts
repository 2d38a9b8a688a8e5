// Shell side of the interactive command gate (protocol v1): builds the
// bootstrap command the bastion execs upstream instead of a `shell` request.
// The bootstrap (POSIX sh, run by sshd as `$SHELL -c '…'`) starts an
// interactive login-like bash or zsh that runs the user's startup files and
// then installs the integration: OSC 6973 markers (R, P, S, C, G) and a
// fork-free gate on every key that accepts a line. Anything it cannot set up
// ends in a plain login shell without the `R` marker (fail closed).

import { randomBytes } from "node:crypto";
import { PortcullisError } from "../util/errors.js";

export type IntegrationShell = "auto" | "bash" | "zsh";

const NONCE_PATTERN = /^[0-9a-f]{32}$/;
const HEREDOC_END = "__PC_RC__";
const FALLBACK = shellText`exec "\${SHELL:-/bin/sh}" -l`;

/**
 * Shell text written as String.raw templates: `\${` and `` \` `` stand for
 * `${` and `` ` `` (a template literal cannot hold them unescaped), `@NAME@`
 * is a placeholder filled in by `fill`.
 */
function shellText(strings: TemplateStringsArray): string {
  return strings.raw.join("").replaceAll("\\${", "${").replaceAll("\\`", "`");
}

function fill(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/@([A-Z_]+)@/g, (whole, name: string) => values[name] ?? whole);
}

/** bash rc: deletes itself, emulates a login shell's startup, installs the gate last. */
const BASH_RC = shellText`# Portcullis interactive gate (bash). Installed after the user's startup files.
command rm -f -- "\${BASH_SOURCE[0]}"
if [ -r /etc/profile ]; then . /etc/profile; fi
for __pc_f in ~/.bash_profile ~/.bash_login ~/.profile; do
  if [ -r "$__pc_f" ]; then . "$__pc_f"; break; fi
done
unset __pc_f
__pc_gate() {
  local r v= c
  builtin printf -v r '%08x%08x' "$SRANDOM" "$SRANDOM"
  builtin printf '\e]6973;%s;G;%s;%s\a' "$__pc_n" "$r" "\${READLINE_LINE@Q}"
  # The verdict ends what is read; keys typed ahead before it are discarded.
  IFS= builtin read -rsN 17 v
  until [[ $v == *"A$r" || $v == *"D$r" ]]; do
    IFS= builtin read -rsN 1 c || break
    v+=$c
  done
  if [[ $v != *"A$r" ]]; then
    if [[ -n $__pc_ps1 ]]; then READLINE_LINE=; READLINE_POINT=0
    else READLINE_LINE='\'; READLINE_POINT=1; fi
  fi
  __pc_ps1=
}
__pc_pre() { __pc_s=$?; return "$__pc_s"; }
__pc_post() {
  builtin printf '\e]6973;%s;P;%s;%s\a' "$__pc_n" "$__pc_s" "\${PWD@Q}"
  __pc_ps1=1
  set +H
  [[ \${PS0-} == "$__pc_ps0"* ]] || { PS0=$__pc_ps0\${PS0-}; builtin export -n PS0; }
  [[ \${PS2-} == "$__pc_ps2"* ]] || { PS2=$__pc_ps2\${PS2-}; builtin export -n PS2; }
  return "$__pc_s"
}
__pc_bind_keys() {
  local m f
  for m in emacs vi-insert vi-command; do
    for f in accept-line operate-and-get-next edit-and-execute-command \
      vi-edit-and-execute-command insert-comment dump-functions dump-macros dump-variables; do
      builtin bind -m "$m" -u "$f" 2>/dev/null
    done
    builtin bind -m "$m" -x '"@GATE_KEY@": __pc_gate' &&
      builtin bind -m "$m" '"@ACCEPT_KEY@": accept-line' &&
      builtin bind -m "$m" '"@NEXT_KEY@": operate-and-get-next' &&
      builtin bind -m "$m" '"\C-m": "@GATE_KEY@@ACCEPT_KEY@"' &&
      builtin bind -m "$m" '"\C-j": "@GATE_KEY@@ACCEPT_KEY@"' &&
      builtin bind -m "$m" '"\C-o": "@GATE_KEY@@NEXT_KEY@"' || return 1
  done
}
__pc_function_names() {
  local line names=
  while IFS= builtin read -r line; do
    line=\${line#declare -* }
    [[ $line == __pc_* ]] || names+=\${names:+ }$line
  done < <(builtin declare -F)
  builtin printf '%s' "$names"
}
__pc_install() {
  (( BASH_VERSINFO[0] > 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] >= 1) )) || return 1
  local a=$SRANDOM b=$SRANDOM aliases functions
  [[ -n $a && $a != *[!0-9]* && $a != "$b" ]] || return 1
  aliases=$(builtin alias -p) functions=$(__pc_function_names)
  __pc_n=@NONCE@ __pc_s=0 __pc_ps1=1
  __pc_ps0=$'\e]6973;@NONCE@;C\a'
  __pc_ps2='\['$'\e]6973;@NONCE@;S\a''\]'
  __pc_bind_keys || return 1
  PROMPT_COMMAND=(__pc_pre "\${PROMPT_COMMAND[@]}" __pc_post)
  PS0=$__pc_ps0\${PS0-} PS2=$__pc_ps2\${PS2-}
  set +H
  builtin export -n __pc_n __pc_ps0 __pc_ps2 PS0 PS2 PROMPT_COMMAND
  builtin printf '\e]6973;%s;R;bash;%s;%s\a' "$__pc_n" "\${aliases@Q}" "\${functions@Q}"
}
__pc_install
unset -f __pc_install __pc_bind_keys __pc_function_names
`;

/** zsh .zshenv in a temporary ZDOTDIR: restores ZDOTDIR, removes itself, defers the install to the first prompt. */
const ZSH_ENV = shellText`# Portcullis interactive gate (zsh). Installed at the first prompt, after all startup files.
() {
  emulate -L zsh
  local dir=$ZDOTDIR
  if [[ -n \${__pc_zd-} ]]; then ZDOTDIR=\${__pc_zd#x}; else unset ZDOTDIR; fi
  unset __pc_zd
  command rm -rf -- $dir
}
typeset -g +x __pc_n=@NONCE@ __pc_fd=-1
typeset -g +x __pc_ps2=$'%{\e]6973;@NONCE@;S\a%}'
__pc_random() {
  emulate -L zsh -o no_multibyte
  local raw c
  REPLY=
  sysread -s 8 -i $__pc_fd raw && (( \${#raw} == 8 )) || return 1
  for c in \${(s::)raw}; do REPLY+=\${(l:2::0:)$(( [##16] #c ))}; done
  REPLY=\${(L)REPLY}
}
__pc_gate() {
  emulate -L zsh
  local REPLY v= c
  __pc_random || return 1
  builtin print -rn -- $'\e]6973;'"$__pc_n;G;$REPLY;\${(qqqq)BUFFER}"$'\a'
  # The verdict ends what is read; keys typed ahead before it are discarded.
  builtin read -s -k 17 v
  until [[ $v == *"A$REPLY" || $v == *"D$REPLY" ]]; do
    builtin read -s -k 1 c || break
    v+=$c
  done
  [[ $v == *"A$REPLY" ]]
}
__pc_accept() {
  if __pc_gate; then
    zle .$1
  else
    if [[ -n $PREBUFFER ]]; then BUFFER='\'; CURSOR=1; else BUFFER=; CURSOR=0; fi
    zle .accept-line
  fi
}
__pc_blocked() { zle beep; }
__pc_preexec() { builtin print -rn -- $'\e]6973;'"$__pc_n"$';C\a'; }
__pc_precmd() {
  local s=$?
  (( $# )) && s=$1
  builtin print -rn -- $'\e]6973;'"$__pc_n;P;$s;\${(qqqq)PWD}"$'\a'
  setopt no_bang_hist
  [[ $PROMPT2 == "$__pc_ps2"* ]] || PROMPT2=$__pc_ps2$PROMPT2
}
__pc_fix_bindings() {
  local km line key widget
  for km in \${(f)"$(bindkey -l)"}; do
    [[ $km == .safe ]] && continue
    for line in \${(f)"$(bindkey -M $km)"}; do
      widget=\${line##* } key=\${line% *}
      case $widget in
        (.accept-*|.run-help|.which-command) bindkey -M $km \${(Q)key} \${widget#.} ;;
        (execute-named-cmd|.execute-named-cmd|execute-last-named-cmd|.execute-last-named-cmd) bindkey -M $km -r \${(Q)key} ;;
      esac
    done
  done
}
# isearch runs the accept widgets by their names, not through the wrappers bound to those
# names: its keys get widgets under other names
__pc_fix_isearch() {
  local line w
  for w in accept-line accept-and-hold accept-line-and-down-history accept-and-infer-next-history; do
    zle -N __pc_isearch_$w __pc_w_$w || return 1
  done
  bindkey -M isearch '^M' __pc_isearch_accept-line && bindkey -M isearch '^J' __pc_isearch_accept-line || return 1
  for line in \${(f)"$(bindkey -M main)"}; do
    w=\${line##* }
    if (( \${+widgets[__pc_isearch_$w]} )); then bindkey -M isearch \${(Q)\${line% *}} __pc_isearch_$w || return 1; fi
  done
}
__pc_install_local() {
  emulate -L zsh
  precmd_functions=(\${precmd_functions:#__pc_install})
  zmodload zsh/system 2>/dev/null && exec {__pc_fd}</dev/urandom || return 1
  local w aliases=$(alias -L)
  local -a names=(\${(ko)functions:#__pc_*})
  for w in accept-line accept-and-hold accept-line-and-down-history accept-and-infer-next-history; do
    functions[__pc_w_$w]="__pc_accept $w"
    zle -N $w __pc_w_$w || return 1
  done
  __pc_fix_isearch || return 1
  for w in run-help which-command edit-command-line; do
    zle -N $w __pc_blocked || return 1
  done
  __pc_fix_bindings
  preexec_functions=(__pc_preexec \${preexec_functions:#__pc_preexec})
  precmd_functions=(\${precmd_functions:#__pc_precmd} __pc_precmd)
  PROMPT2=$__pc_ps2$PROMPT2
  builtin print -rn -- $'\e]6973;'"$__pc_n;R;zsh;\${(qqqq)aliases};\${(qqqq)\${(j: :)names}}"$'\a'
}
__pc_install() {
  local s=$?
  __pc_install_local || return
  setopt no_bang_hist
  __pc_precmd $s
}
precmd_functions+=(__pc_install)
if [[ -r \${ZDOTDIR:-$HOME}/.zshenv ]]; then source \${ZDOTDIR:-$HOME}/.zshenv; fi
`;

/** Random key sequences for the macro steps, so a user cannot type them to accept a line ungated. */
function hiddenKeys(): Record<string, string> {
  const hex = randomBytes(18).toString("hex");
  const key = (part: number) => `\\C-x\\C-]${hex.slice(part * 12, part * 12 + 12)}`;
  return { GATE_KEY: key(0), ACCEPT_KEY: key(1), NEXT_KEY: key(2) };
}

function writeFile(path: string, text: string): string {
  return `cat >${path} <<'${HEREDOC_END}' || ${FALLBACK}\n${text}${HEREDOC_END}\n`;
}

function bashLauncher(binary: string, nonce: string): string {
  const rc = fill(BASH_RC, { NONCE: nonce, ...hiddenKeys() });
  return `f=$(mktemp) || ${FALLBACK}\n${writeFile('"$f"', rc)}exec ${binary} --rcfile "$f" -i\n`;
}

function zshLauncher(binary: string, nonce: string): string {
  const env = fill(ZSH_ENV, { NONCE: nonce });
  return [
    `d=$(mktemp -d) || ${FALLBACK}\n`,
    writeFile('"$d/.zshenv"', env),
    `${shellText`__pc_zd=\${ZDOTDIR+x$ZDOTDIR}`}\n`,
    "ZDOTDIR=$d\n",
    "export __pc_zd ZDOTDIR\n",
    `exec ${binary} -il\n`,
  ].join("");
}

function forced(name: "bash" | "zsh", launcher: string): string {
  return `command -v ${name} >/dev/null 2>&1 || ${FALLBACK}\n${launcher}`;
}

/** The exec command the bastion sends upstream instead of a plain `shell` request. */
export function integrationCommand(nonce: string, shell: IntegrationShell): string {
  if (!NONCE_PATTERN.test(nonce)) {
    throw new PortcullisError(
      "ERR_INTERACTIVE_NONCE",
      "integration nonce must be 32 lowercase hex characters",
    );
  }
  switch (shell) {
    case "bash":
      return forced("bash", bashLauncher("bash", nonce));
    case "zsh":
      return forced("zsh", zshLauncher("zsh", nonce));
    case "auto":
      return [
        `${shellText`case "\${SHELL##*/}" in`}\n`,
        `bash)\n${bashLauncher('"$SHELL"', nonce)};;\n`,
        `zsh)\n${zshLauncher('"$SHELL"', nonce)};;\n`,
        `*) ${FALLBACK};;\n`,
        "esac\n",
      ].join("");
  }
}
