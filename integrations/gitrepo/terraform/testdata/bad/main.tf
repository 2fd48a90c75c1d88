terraform {
  required_version = ">= 1.0"
  required_providers {
    github = { source = "integrations/github" }
    vault  = "~> 3.0"
  }
}

variable "admin_password" {
  default = "correct-horse-battery"
}

provider "vault" {
  address = "https://vault.example.com"
  token   = "hvs.not-a-real-token"
}

module "vpc" {
  source = "git::https://deploy:hunter2@github.com/example/terraform-vpc.git?ref=main"
}

module "dns" {
  source  = "example/dns/cloudflare"
  version = "~> 2.0"
}

module "nover" {
  source = "github.com/example/tf-mod"
}

resource "github_repository" "site" {
  name       = "site"
  visibility = "public"
}

resource "github_branch_protection" "main" {
  repository_id = github_repository.site.node_id
  pattern       = "main"
}

resource "cloudflare_zone_settings_override" "zone" {
  zone_id = "abc"
  settings {
    ssl              = "flexible"
    min_tls_version  = "1.0"
    always_use_https = "off"
  }
}

resource "kubernetes_pod" "debug" {
  metadata { name = "debug" }
  spec {
    container {
      name  = "debug"
      image = "busybox"
      security_context {
        privileged = true
      }
    }
  }
}

resource "helm_release" "agent" {
  name  = "agent"
  chart = "agent"
  set {
    name  = "securityContext.privileged"
    value = "true"
  }
  values = [<<-EOT
    daemonset:
      securityContext:
        privileged: true
  EOT
  , yamlencode({ sidecar = { privileged = true } })]
}

resource "proxmox_virtual_environment_vm" "db" {
  node_name = "pve1"
  disk {
    interface = "scsi0"
    backup    = false
  }
  network_device {
    bridge   = "vmbr0"
    firewall = false
  }
  network_device {
    bridge = "vmbr1"
  }
}

resource "proxmox_vm_qemu" "legacy" {
  name   = "legacy"
  backup = false
  network {
    model    = "virtio"
    bridge   = "vmbr0"
    firewall = false
  }
}
