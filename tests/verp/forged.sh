#!/bin/sh
# A signed deployment ([verp] key_file, require_signature = true): a hard bounce whose VERP is
# unsigned, forged, tampered with or signed with another key suppresses nobody (and is still
# recorded, effect 'unverified'); a correctly signed one suppresses the address it names, even
# when the report names another (alias). Real binary, real SQLite file, scratch directory.
# usage: forged.sh BOUNCED
set -u
B=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/verp-forged.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
pass=0
fail=0

check() {	# NAME GOT WANT
	if [ "$2" = "$3" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL $1: got '$2', want '$3'"
	fi
}

head -c 32 /dev/urandom | base64 >"$T/verp.key"
head -c 32 /dev/urandom | base64 >"$T/forger.key"
cat >"$T/bounced.conf" <<EOF
[store]
db = $T/bounced.db
[verp]
key_file = $T/verp.key
require_signature = true
EOF
C="--config $T/bounced.conf"
RP=bounces@bounce.example.org
$B db migrate $C >/dev/null || { echo "FAIL db migrate"; exit 1; }

n=0
dsn() {	# FINAL-RECIPIENT: writes a Postfix-style hard bounce with a fresh Message-ID
	n=$((n + 1))
	cat >"$T/dsn-$n.eml" <<EOF
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: $RP
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-$n@mx.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

I could not deliver your message to <$1>.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; $1
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <$1>: Recipient address rejected: User unknown

--B--
EOF
	echo "$T/dsn-$n.eml"
}

sign() {	# KEYFILE ADDRESS [TAG]
	$B verp encode --key-file "$1" ${3:+--tag "$3"} --return-path $RP "$2"
}

# The MAC is 16 base32 characters holding exactly 80 bits, so changing any one of them to another
# base32 character always changes the MAC. tamper_mac moves the first one a step along the
# alphabet (a->b ... z->2 ... 7->a): exactly one character changed, whatever the random key gave.
B32=abcdefghijklmnopqrstuvwxyz234567
B32_NEXT=bcdefghijklmnopqrstuvwxyz234567a
tamper_mac() {	# SIGNED-VERP: the same address with the first MAC character changed
	rest=${1#bounces+s1=}
	tail=${rest#?}
	first=${rest%"$tail"}
	printf 'bounces+s1=%s%s\n' "$(printf %s "$first" | tr "$B32" "$B32_NEXT")" "$tail"
}
# Prove it for every first character, followed by 'a' or by 'z' (the old two-sed edit left "za..."
# unchanged and changed two characters of "az..."): one byte differs, the new one is base32, the
# length holds.
for c in a b c d e f g h i j k l m n o p q r s t u v w x y z 2 3 4 5 6 7; do
	for next in a z; do
		in="bounces+s1=$c${next}aaaaaaaaaaaaaa=c42=victim5=example.com@bounce.example.org"
		out=$(tamper_mac "$in")
		printf '%s' "$in" >"$T/tm-in"
		printf '%s' "$out" >"$T/tm-out"
		nd=$(cmp -l "$T/tm-in" "$T/tm-out" | wc -l)
		new=$(printf %s "${out#bounces+s1=}" | cut -c1)
		case $B32 in *"$new"*) ok=yes ;; *) ok=no ;; esac
		check "tamper_mac changes one base32 character of $c$next..." "$nd ${#out} $ok" "1 ${#in} yes"
	done
done

good=$(sign "$T/verp.key" attacker@evil.example c42)
tampered_addr=$(echo "$good" | sed 's/=attacker=evil.example@/=victim3=example.com@/')
tampered_tag=$(sign "$T/verp.key" victim4@example.com c42 | sed 's/=c42=/=c43=/')
tampered_mac=$(tamper_mac "$(sign "$T/verp.key" victim5@example.com)")
forger=$(sign "$T/forger.key" victim2@example.com)
short_mac=$(sign "$T/verp.key" victim6@example.com | sed 's/^\(bounces+s1=\).\(...............=\)/\1\2/')
upper=$(sign "$T/forger.key" victim7@example.com | tr a-z A-Z)
srs="SRS0=HHHH=TT=bounce.example.org=bounces+victim8=example.com@fwd.example"
signed_joe=$(sign "$T/verp.key" joe@example.com news-1)
signed_real=$(sign "$T/verp.key" real@example.com)
signed_ann=$(sign "$T/verp.key" ann@example.com)
srs_signed="SRS0=HHHH=TT=bounce.example.org=${signed_ann%@*}@fwd.example"

# { name | envelope recipient | address the DSN names | address checked | suppress check exit }
while IFS='|' read -r name env named addr want; do
	[ -n "$name" ] || continue
	f=$(dsn "$named")
	$B ingest $C --quiet --envelope-recipient "$env" "$f"
	check "$name: ingest" $? 0
	$B suppress check $C "$addr" >/dev/null
	check "$name: suppress check $addr" $? "$want"
done <<EOF
unsigned VERP|bounces+victim1=example.com@bounce.example.org|victim1@example.com|victim1@example.com|1
signed with another key|$forger|victim2@example.com|victim2@example.com|1
address swapped under a valid MAC|$tampered_addr|victim3@example.com|victim3@example.com|1
tag changed|$tampered_tag|victim4@example.com|victim4@example.com|1
MAC changed|$tampered_mac|victim5@example.com|victim5@example.com|1
MAC cut short|$short_mac|victim6@example.com|victim6@example.com|1
another key, uppercased|$upper|victim7@example.com|victim7@example.com|1
unsigned VERP inside SRS|$srs|victim8@example.com|victim8@example.com|1
forged VERP, report names the victim|bounces+nobody=example.com@bounce.example.org|victim9@example.com|victim9@example.com|1
forged VERP, report names the victim|bounces+nobody=example.com@bounce.example.org|victim9@example.com|nobody@example.com|1
no VERP at all, to the plain return path|bounces@bounce.example.org|victim10@example.com|victim10@example.com|1
no VERP at all, to another address|postmaster@bounce.example.org|victim11@example.com|victim11@example.com|1
correctly signed|$signed_joe|joe@example.com|joe@example.com|0
correctly signed, report names an alias|$signed_real|alias@example.net|real@example.com|0
correctly signed, report names an alias|$signed_real|alias@example.net|alias@example.net|1
correctly signed inside SRS|$srs_signed|ann@example.com|ann@example.com|0
EOF

# The forged ones are recorded, verified false, and did nothing; the signed ones verified.
q() { sqlite3 "$T/bounced.db" "$1"; }
check "forged events" "$(q "SELECT count(*) FROM events WHERE verp_verified = 0 AND effect = 'unverified'")" 11
check "forged events suppress nothing" "$(q "SELECT count(*) FROM events WHERE verp_verified = 0 AND effect <> 'unverified'")" 0
check "signed events" "$(q "SELECT group_concat(address || ' ' || effect || ' ' || ifnull(verp_tag, ''), ',') FROM (SELECT * FROM events WHERE verp_verified = 1 ORDER BY id)")" \
	"joe@example.com suppressed news-1,real@example.com suppressed ,ann@example.com suppressed "
check "suppressed" "$(q "SELECT group_concat(address, ',') FROM (SELECT address FROM suppressions ORDER BY address)")" \
	"ann@example.com,joe@example.com,real@example.com"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
