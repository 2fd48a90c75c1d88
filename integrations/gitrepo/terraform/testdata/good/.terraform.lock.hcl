# This file is maintained automatically by "terraform init".
provider "registry.terraform.io/integrations/github" {
  version = "6.2.3"
}
