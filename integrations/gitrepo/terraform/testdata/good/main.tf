terraform {
  required_version = "1.5.7"

  required_providers {
    github     = { source = "integrations/github", version = "~> 6.2" }
    cloudflare = { source = "cloudflare/cloudflare", version = "4.40.0" }
    vault = {
      source  = "hashicorp/vault"
      version = "~> 4.4"
    }
    kubernetes = { source = "hashicorp/kubernetes", version = "2.31.0" }
    helm       = { source = "hashicorp/helm", version = "2.14.0" }
    proxmox    = { source = "bpg/proxmox", version = "0.61.1" }
  }
}

variable "db_password" {
  type      = string
  sensitive = true
}

provider "vault" {
  address = "https://vault.example.com"
  token   = var.vault_token
}

module "net" {
  source = "./modules/net"
}

module "vpc" {
  source = "git::https://github.com/example/terraform-vpc.git?ref=v1.4.2"
}

module "dns" {
  source  = "example/dns/cloudflare"
  version = "2.0.1"
}

module "pinned_commit" {
  source = "github.com/example/tf-mod?ref=0123456789abcdef0123456789abcdef01234567"
}

resource "github_repository" "app" {
  name                 = "app"
  visibility           = "private"
  vulnerability_alerts = true
}

resource "github_branch_protection" "main" {
  repository_id = github_repository.app.node_id
  pattern       = "main"
  required_pull_request_reviews {
    required_approving_review_count = 1
  }
}

resource "cloudflare_zone_settings_override" "zone" {
  zone_id = "abc"
  settings {
    ssl              = "strict"
    min_tls_version  = "1.2"
    always_use_https = "on"
    waf              = "on"
  }
}

resource "vault_audit" "file" {
  type = "file"
  options = {
    file_path = "/var/log/vault/audit.log"
  }
}

resource "vault_generic_secret" "db" {
  path      = "secret/db"
  data_json = jsonencode({ password = var.db_password })
}

resource "kubernetes_deployment" "app" {
  metadata { name = "app" }
  spec {
    template {
      metadata { name = "app" }
      spec {
        container {
          name  = "app"
          image = "registry.example.com/app:1.0"
          security_context {
            privileged                = false
            allow_privilege_escalation = false
          }
        }
      }
    }
  }
}

resource "helm_release" "ingress" {
  name  = "ingress"
  chart = "ingress-nginx"
  set {
    name  = "controller.replicaCount"
    value = "2"
  }
  values = [<<-EOT
    controller:
      securityContext:
        privileged: false
  EOT
  ]
}

resource "proxmox_virtual_environment_vm" "web" {
  node_name = "pve1"
  disk {
    datastore_id = "local-lvm"
    interface    = "scsi0"
    backup       = true
  }
  network_device {
    bridge   = "vmbr0"
    firewall = true
  }
}
