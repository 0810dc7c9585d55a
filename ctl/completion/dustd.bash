# bash completion for dustd (installed as completions/dustd). Options follow
# daemon/options.cpp and config/dustd.conf.

_dustd() {
  local cur prev words cword
  _init_completion || return

  case $prev in
    -c|--config) _filedir conf; [ ${#COMPREPLY[@]} -eq 0 ] && _filedir; return ;;
    --data-dir|--state-dir|--model-export-dir) _filedir -d; return ;;
    --model-export-formats) COMPREPLY=($(compgen -W "onnx c-header safetensors json" -- "$cur")); return ;;
    --csv-label-column|--test-files) return ;;
    --control-socket) _filedir; return ;;
    --control-group) COMPREPLY=($(compgen -g -- "$cur")); return ;;
    --multicast-interface) COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur")); return ;;
    --broadcast) COMPREPLY=($(compgen -W "auto none" -- "$cur")); return ;;
    --aggregator) COMPREPLY=($(compgen -W "mean median trimmed: clip clip:" -- "$cur")); return ;;
    --announce-stats) COMPREPLY=($(compgen -W "auto true false" -- "$cur")); return ;;
    --log-level) COMPREPLY=($(compgen -W "trace debug info warn error critical off" -- "$cur")); return ;;
    --port|--bind-address|--peer|--fleet|--multicast-group|--metrics-listen|--display-name|--layers|\
    --init-seed|--learning-rate|--momentum|--batch-size|--batches-per-round|--cpu-budget|\
    --dp-noise-multiplier|--dp-clip|--dp-epsilon-budget|--dp-delta|\
    --holdout-fraction|--holdout-seed|--announce-interval|--send-interval|\
    --checkpoint-interval|--rescan-interval|--eval-interval|--multicast-hops|--endpoint|\
    --peer-exchange-interval|--peer-exchange-ttl|--resolve-interval) return ;;
  esac

  COMPREPLY=($(compgen -W "--help --version --config --check-config --data-dir
    --csv-label-column --test-files --state-dir --model-export-dir --model-export-formats --control-socket --control-group --port --bind-address --broadcast --peer --fleet --multicast-group
    --multicast-interface --metrics-listen --display-name --layers --init-seed --learning-rate
    --momentum --batch-size --batches-per-round --aggregator --cpu-budget --holdout-fraction
    --holdout-seed --announce-interval --send-interval --checkpoint-interval --rescan-interval
    --eval-interval --log-level --dp-noise-multiplier --dp-clip --dp-epsilon-budget --dp-delta
    --announce-stats --multicast-hops --endpoint --peer-exchange-interval --peer-exchange-ttl
    --resolve-interval" -- "$cur"))
}
complete -F _dustd dustd
