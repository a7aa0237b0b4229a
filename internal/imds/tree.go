package imds

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// node is one entry of the metadata tree: a leaf with a value, or a
// category with children. The tree is built once in New and only read.
type node struct {
	value    string
	children map[string]*node
	// bareListing lists children without the trailing "/" even when they
	// are categories: EC2 lists the versions at / and the categories at
	// /latest/ ("dynamic", "meta-data") that way, and only deeper listings
	// end sub-directories with "/" (reference 1.1, listing semantics).
	bareListing bool
}

func leaf(v string) *node { return &node{value: v} }

func dir(children map[string]*node) *node { return &node{children: children} }

func (n *node) isDir() bool { return n.children != nil }

// listing is the body of a category: one item per line separated by LF,
// sub-categories suffixed with "/" (reference 1.1). Like EC2, the last line
// has no trailing newline.
func (n *node) listing() string {
	names := make([]string, 0, len(n.children))
	for name, child := range n.children {
		if child.isDir() && !n.bareListing {
			name += "/"
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return strings.Join(names, "\n")
}

// lookup walks the tree along the path segments; nil means 404.
func (n *node) lookup(segments []string) *node {
	cur := n
	for _, s := range segments {
		if !cur.isDir() {
			return nil
		}
		cur = cur.children[s]
		if cur == nil {
			return nil
		}
	}
	return cur
}

// identityDocument is /latest/dynamic/instance-identity/document with the
// fields, in the order and with the nulls EC2 serves (reference 1.3).
type identityDocument struct {
	AccountID               string    `json:"accountId"`
	Architecture            string    `json:"architecture"`
	AvailabilityZone        string    `json:"availabilityZone"`
	BillingProducts         *[]string `json:"billingProducts"`
	DevpayProductCodes      *[]string `json:"devpayProductCodes"`
	MarketplaceProductCodes *[]string `json:"marketplaceProductCodes"`
	ImageID                 string    `json:"imageId"`
	InstanceID              string    `json:"instanceId"`
	InstanceType            string    `json:"instanceType"`
	KernelID                *string   `json:"kernelId"`
	PendingTime             string    `json:"pendingTime"`
	PrivateIP               string    `json:"privateIp"`
	RamdiskID               *string   `json:"ramdiskId"`
	Region                  string    `json:"region"`
	Version                 string    `json:"version"`
}

// identityDocumentVersion is the document format version EC2 reports
// (reference 1.3).
const identityDocumentVersion = "2017-09-30"

func buildTree(inst Instance) (*node, error) {
	doc, err := json.MarshalIndent(identityDocument{
		AccountID:        inst.AccountID,
		Architecture:     inst.Architecture,
		AvailabilityZone: inst.AvailabilityZone,
		ImageID:          inst.AMIID,
		InstanceID:       inst.InstanceID,
		InstanceType:     inst.InstanceType,
		PendingTime:      inst.LaunchTime.UTC().Format(time.RFC3339), // 2016-11-19T16:32:11Z
		PrivateIP:        inst.PrivateIP,
		Region:           inst.Region,
		Version:          identityDocumentVersion,
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("instance %q: identity document: %w", inst.InstanceID, err)
	}

	// eth0's entry under network/interfaces/macs/<mac>/ (reference 1.2).
	iface := map[string]*node{
		"device-number":  leaf("0"),
		"local-hostname": leaf(inst.Hostname),
		"local-ipv4s":    leaf(inst.PrivateIP),
		"mac":            leaf(inst.MAC),
		"owner-id":       leaf(inst.AccountID),
	}
	optional := map[string]string{
		"interface-id":           inst.InterfaceID,
		"subnet-id":              inst.SubnetID,
		"subnet-ipv4-cidr-block": inst.SubnetCIDR,
		"vpc-id":                 inst.VPCID,
		"vpc-ipv4-cidr-block":    inst.VPCCIDR,
		"vpc-ipv4-cidr-blocks":   inst.VPCCIDR,
	}
	for name, v := range optional {
		if v != "" {
			iface[name] = leaf(v)
		}
	}

	metaData := dir(map[string]*node{
		"ami-id":              leaf(inst.AMIID),
		"hostname":            leaf(inst.Hostname),
		"instance-id":         leaf(inst.InstanceID),
		"instance-life-cycle": leaf("on-demand"),
		"instance-type":       leaf(inst.InstanceType),
		"local-hostname":      leaf(inst.Hostname),
		"local-ipv4":          leaf(inst.PrivateIP),
		"mac":                 leaf(inst.MAC),
		"network": dir(map[string]*node{
			"interfaces": dir(map[string]*node{
				"macs": dir(map[string]*node{inst.MAC: dir(iface)}),
			}),
		}),
		"placement": dir(map[string]*node{
			"availability-zone": leaf(inst.AvailabilityZone),
			"region":            leaf(inst.Region),
		}),
		"services": dir(map[string]*node{
			"domain":    leaf("amazonaws.com"),
			"partition": leaf("aws"),
		}),
	})
	dynamic := dir(map[string]*node{
		// EC2 also serves pkcs7, signature and rsa2048 here; elbow cannot
		// sign as AWS does, so it does not pretend to.
		"instance-identity": dir(map[string]*node{"document": leaf(string(doc))}),
	})
	latest := dir(map[string]*node{"meta-data": metaData, "dynamic": dynamic})
	latest.bareListing = true
	// EC2 lists every dated version at /; elbow serves only "latest", the
	// one the SDKs use, and lists only that.
	root := dir(map[string]*node{"latest": latest})
	root.bareListing = true
	return root, nil
}
