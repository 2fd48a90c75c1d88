cloudflare = {
  api_token = "cf-not-a-real-token"
}
