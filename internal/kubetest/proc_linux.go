package kubetest

import "syscall"

// sysProcAttr kills the servers with the test binary, so that a test run
// that crashes or is interrupted leaves no etcd or kube-apiserver behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
