terraform {
  required_version = ">= 1.5"
  required_providers {
    cloudflare = { source = "cloudflare/cloudflare", version = ">= 4.0" }
  }
}

resource "cloudflare_record" "www" {
  zone_id = "abc"
  name    = "www"
  type    = "CNAME"
  content = "example.com"
}
