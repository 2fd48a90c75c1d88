package kubetest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rampart-dev/rampart/internal/kubetest"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }

// TestUsers pins what each token may do, since the integration tests rely
// on it: the admin writes, the reader lists but cannot write, and the user
// without rights cannot list.
func TestUsers(t *testing.T) {
	t.Parallel()
	srv := kubetest.Start(t)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kubetest-users"}}

	tests := []struct {
		name       string
		token      string
		wantList   bool
		wantCreate bool
	}{
		{"admin", srv.AdminToken, true, true},
		{"reader", srv.ReadOnlyToken, true, false},
		{"nobody", srv.NoRightsToken, false, false},
	}
	// The admin goes first and creates the namespace the others try to
	// create again.
	for _, tt := range tests {
		c, err := srv.Client(tt.token)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{Limit: 1})
		if got := err == nil; got != tt.wantList {
			t.Errorf("%s: list namespaces: err = %v, want allowed=%v", tt.name, err, tt.wantList)
		}
		if !tt.wantList && !apierrors.IsForbidden(err) {
			t.Errorf("%s: list namespaces: err = %v, want 403 Forbidden", tt.name, err)
		}
		_, err = c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
		if got := err == nil; got != tt.wantCreate {
			t.Errorf("%s: create namespace: err = %v, want allowed=%v", tt.name, err, tt.wantCreate)
		}
	}
}

// TestKubeconfig checks that a written kubeconfig reaches the server as
// the user whose token it holds.
func TestKubeconfig(t *testing.T) {
	t.Parallel()
	srv := kubetest.Start(t)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := srv.WriteKubeconfig(path, "reader", srv.ReadOnlyToken); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	review, err := c.AuthenticationV1().SelfSubjectReviews().Create(context.Background(),
		&authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("self subject review: %v", err)
	}
	if got := review.Status.UserInfo.Username; got != kubetest.ReadOnlyUser {
		t.Errorf("kubeconfig authenticates as %q, want %q", got, kubetest.ReadOnlyUser)
	}
}
