resource "github_repository" "x" {
  name                 = "x"
  visibility           = "internal"
  vulnerability_alerts = false
}
