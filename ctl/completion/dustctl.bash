# bash completion for dustctl (installed as completions/dustctl; bash-completion loads it on
# demand). Commands follow the table in ctl/main.cpp.

_dustctl() {
  local cur prev words cword
  _init_completion || return

  local common="--json --socket --timeout --help"
  case $prev in
    --socket) _filedir sock; [ ${#COMPREPLY[@]} -eq 0 ] && _filedir; return ;;
    --timeout|--scale|--name|--c-prefix|--label-column) return ;;
    --png|-o|--output) _filedir; return ;;
    --qr-image) _filedir png; return ;;
    --data|-d) _filedir -d; return ;;
    --format|-f) COMPREPLY=($(compgen -W "onnx safetensors c-header json" -- "$cur")); return ;;
    --split) COMPREPLY=($(compgen -W "test train all" -- "$cur")); return ;;
  esac

  # Find the command words, skipping global options and their values.
  local i cmd="" sub=""
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      --socket|--timeout) ((i++)) ;;
      -*) ;;
      *)
        if [ -z "$cmd" ]; then cmd=${words[i]}
        elif [ -z "$sub" ]; then sub=${words[i]}; fi ;;
    esac
  done

  if [ -z "$cmd" ]; then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "$common --version" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "status peers trust fleet model evaluate predict pause resume metrics checkpoint rescan watch top history privacy help" -- "$cur"))
    fi
    return
  fi

  local opts=$common
  case $cmd in
    trust)
      if [ -z "$sub" ]; then
        COMPREPLY=($(compgen -W "show add list remove" -- "$cur"))
        return
      fi
      case $sub in
        show) opts+=" --png --scale --no-qr --invert" ;;
        add) opts+=" --qr-image --name --yes" ;;
        remove)
          if [[ $cur != -* ]]; then
            # Node IDs of the trusted peers, from the daemon (quietly nothing if unreachable).
            local sock_args=() j
            for ((j = 1; j < cword; j++)); do
              [ "${words[j]}" = --socket ] && sock_args=(--socket "${words[j + 1]}")
            done
            local ids
            ids=$(dustctl "${sock_args[@]}" --timeout 1000 trust list 2>/dev/null | awk 'NR > 1 {print $1}')
            COMPREPLY=($(compgen -W "$ids" -- "$cur"))
            return
          fi ;;
      esac ;;
    fleet)
      if [ -z "$sub" ]; then
        COMPREPLY=($(compgen -W "init enroll revoke install" -- "$cur"))
        return
      fi
      case $sub in
        init) opts+=" --out -o" ;;
        enroll) opts+=" --fleet-key --qr-image --name --expires --endpoint --out -o" ;;
        revoke) opts+=" --fleet-key --out -o" ;;
      esac ;;
    model)
      if [ -z "$sub" ]; then
        COMPREPLY=($(compgen -W "export" -- "$cur"))
        return
      fi
      opts+=" --format --output -o --c-prefix" ;;
    evaluate) opts+=" --data --split" ;;
    privacy)
      if [ -z "$sub" ]; then
        COMPREPLY=($(compgen -W "plan epsilon" -- "$cur"))
        return
      fi
      case $sub in
        plan) opts+=" --epsilon --samples --steps --batch --delta" ;;
        epsilon) opts+=" --noise --samples --steps --batch --delta" ;;
      esac ;;
    watch)
      if [ "$prev" = --events ]; then
        COMPREPLY=($(compgen -W "model peer trust data checkpoint export" -- "$cur"))
        return
      fi
      opts+=" --events --count" ;;
    top)
      opts+=" --once --interval" ;;
    history)
      if [ "$prev" = --resolution ]; then
        COMPREPLY=($(compgen -W "auto fine coarse" -- "$cur"))
        return
      fi
      opts+=" --since --resolution --points --no-peers" ;;
    predict)
      # FILE: a CSV, IDX or PNG file.
      if [[ $cur != -* ]]; then
        _filedir
        return
      fi
      opts+=" --label-column --no-label --invert" ;;
    help)
      COMPREPLY=($(compgen -W "status peers trust fleet model evaluate predict pause resume metrics checkpoint rescan watch top history privacy" -- "$cur"))
      return ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -F _dustctl dustctl
