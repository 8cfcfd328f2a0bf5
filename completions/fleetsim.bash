# SPDX-License-Identifier: Apache-2.0
# bash completion for fleetsim, fleetctl and fleet-viz (installed once per
# command name, as bash-completion loads a file by the command's name).
#
# The commands and options come from the programs' own --help, so they are
# always those of the version installed; values that name a file or a
# directory complete as paths, and a few known values (networks, matchers,
# cadences) as themselves. Needs only bash (not the bash-completion package).

# The --options a help text lists (in its usage lines and option lines, not in
# its prose), and --help and --version, which every program has:
# _fleetsim_options PROGRAM [COMMAND]
_fleetsim_options()
{
	{
		"$@" --help 2>/dev/null | grep -E '^(Usage:| +-|       [a-z])' | grep -oE -- '(^|[ [])--?[a-z][a-z0-9-]*'
		echo --help --version
	} | tr ' [' '\n\n' | grep -- '^-' | sort -u
}

# The commands listed under "Commands:" (a line "  pause | resume  ..." gives both)
_fleetsim_commands()
{
	"$1" --help 2>/dev/null | awk '
		/^Commands:/ { on = 1; next }
		on && /^$/ { exit }
		on && /^  [a-z]/ { print $1; if ($2 == "|") print $3 }' | sort -u
}

# COMPREPLY for a value of option $1 (the word before the cursor): 0 if it was one
_fleetsim_value()
{
	local prev=$1 cur=$2
	case $prev in
	--network) COMPREPLY=($(compgen -W "atlanta columbus grid: csv:" -- "$cur") $(compgen -f -- "$cur")) ;;
	--matcher) COMPREPLY=($(compgen -W "batch greedy" -- "$cur")) ;;
	--phase) COMPREPLY=($(compgen -W "data-collection supervised driverless" -- "$cur")) ;;
	--charging) COMPREPLY=($(compgen -W "yes no" -- "$cur")) ;;
	--control) COMPREPLY=($(compgen -W "socket bus" -- "$cur")) ;;
	--cadence) COMPREPLY=($(compgen -W "monthly quarterly weekly" -- "$cur")) ;;
	--compression) COMPREPLY=($(compgen -W "none zstd" -- "$cur")) ;;
	--speed) COMPREPLY=($(compgen -W "max" -- "$cur")) ;;
	--timezone) # the system's tz database (package tzdata): Area/City names, and UTC
		COMPREPLY=($(compgen -W "UTC $(cd /usr/share/zoneinfo 2>/dev/null &&
			find [A-Z]*/ -type f 2>/dev/null | grep -v '^posix/\|^right/')" -- "$cur")) ;;
	--out | --keep | --screenshot-dir | --record | --scenario | --fleet-csv | --demand-csv | \
		--allow | --font | --screenshot | --screenshot-meta | --fleetsim | --timeline | --geojson | \
		--report | --curve-secret | --curve-server)
		COMPREPLY=($(compgen -f -- "$cur")) ;;
	--seed | --duration | --start | --tick-ms | --shards | --vehicles | --rebalance-s | --keyframe-every | \
		--bus | --participant | --stop-wait | --from | --to | --city | --window | --window-start | \
		--jobs | --timeout | --depots | --width | --height | --frames | --wait | --press | --select | \
		--rows | --name | --meta | --topics | --event | --tick | -n | --count)
		COMPREPLY=() ;; # a value of the user's own
	*) return 1 ;;
	esac
	return 0
}

# The word after the program's own options (fleetctl --bus ADDR COMMAND): its index, or 0
_fleetsim_command_index()
{
	local i
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--bus | --curve-server | --curve-secret) ((i++)) ;;
		-*) ;;
		*) echo "$i"; return ;;
		esac
	done
	echo 0
}

_fleetsim()
{
	local prog=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	if ((COMP_CWORD > 1)) && _fleetsim_value "$prev" "$cur"; then
		return
	fi
	local at
	at=$(_fleetsim_command_index)
	if ((at == 0)); then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$(_fleetsim_options "$prog")" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_fleetsim_commands "$prog")" -- "$cur"))
		fi
	elif [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_fleetsim_options "$prog" "${COMP_WORDS[at]}")" -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}

_fleet_viz()
{
	local prog=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	if ((COMP_CWORD > 1)) && _fleetsim_value "$prev" "$cur"; then
		return
	fi
	COMPREPLY=($(compgen -W "$(_fleetsim_options "$prog")" -- "$cur"))
}

complete -F _fleetsim fleetsim fleetctl
complete -F _fleet_viz fleet-viz
