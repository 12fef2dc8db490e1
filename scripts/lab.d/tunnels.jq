# Turns the document of `crossgate import aws FILE --json` into shell assignments, one tunnel
# per index (LAB_T1_*, LAB_T2_*; tunnels in the importer's order, i.e. by AWS outside IP), with
# the file's own algorithms as strongSwan proposals. Keys are not part of the output.
def norm: ascii_downcase | gsub("[ \t]"; "");
def cipher:
  norm | {"aes-128-cbc": "aes128", "aes128": "aes128", "aes-128": "aes128",
          "aes-256-cbc": "aes256", "aes256": "aes256", "aes-256": "aes256",
          "aes-128-gcm-16": "aes128gcm16", "aes128-gcm-16": "aes128gcm16",
          "aes-256-gcm-16": "aes256gcm16", "aes256-gcm-16": "aes256gcm16"}[.];
def integrity:
  norm | {"sha1": "sha1", "sha-1": "sha1", "hmac-sha1": "sha1", "hmac-sha1-96": "sha1",
          "sha2-256": "sha256", "sha256": "sha256", "hmac-sha256-128": "sha256",
          "hmac-sha2-256-128": "sha256", "sha2-384": "sha384", "sha384": "sha384",
          "hmac-sha384-192": "sha384", "hmac-sha2-384-192": "sha384", "sha2-512": "sha512",
          "sha512": "sha512", "hmac-sha512-256": "sha512", "hmac-sha2-512-256": "sha512"}[.];
def dh:
  tostring | {"2": "modp1024", "5": "modp1536", "14": "modp2048", "15": "modp3072",
              "16": "modp4096", "17": "modp6144", "18": "modp8192", "19": "ecp256",
              "20": "ecp384", "21": "ecp521", "22": "modp1024s160", "23": "modp2048s224",
              "24": "modp2048s256"}[.];
# proposal(ike): "" when the file's algorithms are unknown (the AWS side then offers its
# default set only).
def proposal(ike):
  (.encryption | cipher) as $c
  | (.integrity | integrity) as $i
  | ((if ike then .dh_group else .pfs_group end) | dh) as $g
  | if $c == null or $g == null then ""
    elif ($c | test("gcm")) then (if ike then "\($c)-prf\($i // "sha256")-\($g)" else "\($c)-\($g)" end)
    elif $i == null then ""
    else "\($c)-\($i)-\($g)" end;

def positive(d): if (. // 0) > 0 then tostring else (d | tostring) end;

(.tunnels | length) as $n
| "LAB_TUNNELS=\($n)",
  (.tunnels | to_entries[] | (.key + 1 | tostring) as $k | .value
   | "LAB_T\($k)_AWS_IP_FILE=\(.aws_outside_ip | @sh)",
     "LAB_T\($k)_CUSTOMER_IP_FILE=\(.customer_outside_ip | @sh)",
     "LAB_T\($k)_AWS_INSIDE=\(.aws_inside_cidr | @sh)",
     "LAB_T\($k)_CUSTOMER_INSIDE=\(.customer_inside_cidr | @sh)",
     "LAB_T\($k)_IKE_VERSION=\(.ike_version | tostring | @sh)",
     "LAB_T\($k)_IKE_PROPOSAL=\(.ike | proposal(true) | @sh)",
     "LAB_T\($k)_ESP_PROPOSAL=\(.esp | proposal(false) | @sh)",
     "LAB_T\($k)_IKE_LIFETIME=\(.ike.lifetime_s | positive(28800) | @sh)",
     "LAB_T\($k)_ESP_LIFETIME=\(.esp.lifetime_s | positive(3600) | @sh)",
     "LAB_T\($k)_MTU=\(.mtu | positive(1436) | @sh)")
