# The inputs of the rounds at scale (scripts/scale.sh, scripts/slurm-scale.sh). Source it, then:
#
#   scale_balances N FILE                 N customers x 4 assets, deterministic
#   scale_config N BATCH FAN_IN FILE      the round's configuration (round id scale-N)

scale_balances() { # Deterministic balances: 4 assets, 8 decimals, well below 2^64 units in total.
    awk -v n="$1" 'BEGIN { print "user_id,BTC,ETH,USDT,SOL";
        for (i = 0; i < n; i++) printf "user-%08d,%d.%08d,%d.%08d,%d.%08d,%d.%08d\n", i,
            i % 7, (i * 7919) % 100000000, i % 13, (i * 104729) % 100000000,
            i % 1000, (i * 31) % 100000000, i % 3, (i * 17) % 100000000 }' > "$2"
}

scale_config() {
    cat > "$4" <<JSON
{"version":1,"round_id":"scale-$1","balance_bits":64,"batch_size":$2,"fan_in":$3,
 "assets":[{"symbol":"BTC","decimals":8,"reserves":"100000000"},
           {"symbol":"ETH","decimals":8,"reserves":"100000000"},
           {"symbol":"USDT","decimals":8,"reserves":"100000000000"},
           {"symbol":"SOL","decimals":8,"reserves":"100000000"}],
 "previous_round":null}
JSON
}
