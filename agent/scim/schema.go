package scim

import (
	"strings"

	"github.com/clay-agent/clay-agent/agent/roster"
)

// Schema and message URNs.
const (
	SchemaUser                  = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup                 = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaEnterpriseUser        = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	SchemaClayUser              = "urn:clay-agent:params:scim:schemas:extension:clay:2.0:User"
	SchemaServiceProviderConfig = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	SchemaResourceType          = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SchemaSchema                = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	MessageListResponse         = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	MessagePatchOp              = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	MessageError                = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// attrType is an attribute's data type (RFC 7643 §2.3).
type attrType string

const (
	typeString    attrType = "string"
	typeBoolean   attrType = "boolean"
	typeDecimal   attrType = "decimal"
	typeInteger   attrType = "integer"
	typeDateTime  attrType = "dateTime"
	typeBinary    attrType = "binary"
	typeReference attrType = "reference"
	typeComplex   attrType = "complex"
)

// mutability says whether and how an attribute may be changed (RFC 7643
// §7).
type mutability string

const (
	readOnly  mutability = "readOnly"
	readWrite mutability = "readWrite"
	immutable mutability = "immutable"
	writeOnly mutability = "writeOnly"
)

// returned says when an attribute is returned.
type returned string

const (
	returnedAlways  returned = "always"
	returnedNever   returned = "never"
	returnedDefault returned = "default"
	returnedRequest returned = "request"
)

// uniqueness says how an attribute's values are unique.
type uniqueness string

const (
	uniqueNone   uniqueness = "none"
	uniqueServer uniqueness = "server"
	uniqueGlobal uniqueness = "global"
)

// attribute describes one attribute, in the shape /Schemas publishes.
type attribute struct {
	Name            string      `json:"name"`
	Type            attrType    `json:"type"`
	MultiValued     bool        `json:"multiValued"`
	Description     string      `json:"description"`
	Required        bool        `json:"required"`
	CanonicalValues []string    `json:"canonicalValues,omitempty"`
	CaseExact       bool        `json:"caseExact"`
	Mutability      mutability  `json:"mutability"`
	Returned        returned    `json:"returned"`
	Uniqueness      uniqueness  `json:"uniqueness"`
	ReferenceTypes  []string    `json:"referenceTypes,omitempty"`
	SubAttributes   []attribute `json:"subAttributes,omitempty"`
}

// sub returns the sub-attribute named name (ignoring case), or nil.
func (a *attribute) sub(name string) *attribute {
	return find(a.SubAttributes, name)
}

// find returns the attribute of attrs named name (ignoring case), or nil.
func find(attrs []attribute, name string) *attribute {
	for i := range attrs {
		if strings.EqualFold(attrs[i].Name, name) {
			return &attrs[i]
		}
	}
	return nil
}

// schema is a schema resource (RFC 7643 §7).
type schema struct {
	ID          string
	Name        string
	Description string
	Attributes  []attribute
}

// resourceType ties a resource's core schema to its extensions.
type resourceType struct {
	Name        string
	Endpoint    string
	Description string
	Core        *schema
	Extensions  []*schema
}

// schemaFor returns the schema of rt whose URN is urn (ignoring case),
// or nil.
func (rt *resourceType) schemaFor(urn string) *schema {
	if strings.EqualFold(urn, rt.Core.ID) {
		return rt.Core
	}
	for _, s := range rt.Extensions {
		if strings.EqualFold(urn, s.ID) {
			return s
		}
	}
	return nil
}

// extension returns the extension of rt whose URN is urn (ignoring case),
// or nil.
func (rt *resourceType) extension(urn string) *schema {
	for _, s := range rt.Extensions {
		if strings.EqualFold(urn, s.ID) {
			return s
		}
	}
	return nil
}

func str(name, desc string, mut mutability, caseExact bool) attribute {
	return attribute{Name: name, Type: typeString, Description: desc, CaseExact: caseExact,
		Mutability: mut, Returned: returnedDefault, Uniqueness: uniqueNone}
}

func boolean(name, desc string, mut mutability) attribute {
	return attribute{Name: name, Type: typeBoolean, Description: desc, Mutability: mut,
		Returned: returnedDefault, Uniqueness: uniqueNone}
}

func complexAttr(name, desc string, multi bool, mut mutability, subs ...attribute) attribute {
	return attribute{Name: name, Type: typeComplex, MultiValued: multi, Description: desc,
		Mutability: mut, Returned: returnedDefault, Uniqueness: uniqueNone, SubAttributes: subs}
}

// Reference types that name no resource type (RFC 7643 §7).
const (
	referenceExternal = "external"
	referenceURI      = "uri"
)

func ref(name, desc string, mut mutability, types ...string) attribute {
	return attribute{Name: name, Type: typeReference, Description: desc, CaseExact: true,
		Mutability: mut, Returned: returnedDefault, Uniqueness: uniqueNone, ReferenceTypes: types}
}

// multiValue is the sub-attributes shared by emails, phoneNumbers, ims,
// photos and x509Certificates (RFC 7643 §2.4), with a value of type t. A
// value of type reference refers to external resources (photos' URLs,
// RFC 7643 §8.7.1).
func multiValue(name, desc string, t attrType, types ...string) attribute {
	value := str("value", "The attribute's significant value.", readWrite, false)
	value.Type = t
	if t == typeReference {
		value.ReferenceTypes = []string{referenceExternal}
	}
	typ := str("type", "A label indicating the attribute's function.", readWrite, false)
	typ.CanonicalValues = types
	return complexAttr(name, desc, true, readWrite,
		value,
		str("display", "A human-readable name, primarily used for display purposes.", readWrite, false),
		typ,
		boolean("primary", "Whether this value is the preferred one; at most one value is primary.", readWrite),
	)
}

// common returns the attributes every resource has (RFC 7643 §3.1).
func common() []attribute {
	id := str("id", "A unique identifier for the resource, issued by the service provider.", readOnly, true)
	id.Returned, id.Uniqueness = returnedAlways, uniqueServer
	return []attribute{
		id,
		str("externalId", "An identifier for the resource as defined by the provisioning client.", readWrite, true),
		complexAttr("meta", "Resource metadata.", false, readOnly,
			str("resourceType", "The name of the resource type.", readOnly, true),
			attribute{Name: "created", Type: typeDateTime, Description: "When the resource was added.", Mutability: readOnly, Returned: returnedDefault, Uniqueness: uniqueNone},
			attribute{Name: "lastModified", Type: typeDateTime, Description: "When the resource was last changed.", Mutability: readOnly, Returned: returnedDefault, Uniqueness: uniqueNone},
			ref("location", "The URI of the resource.", readOnly, referenceURI),
			str("version", "The version (weak ETag) of the resource.", readOnly, true),
		),
	}
}

var userSchema = func() *schema {
	userName := str("userName", "Unique identifier for the user, typically used to sign in.", readWrite, false)
	userName.Required, userName.Uniqueness = true, uniqueServer
	password := str("password", "Not stored: Clay accounts sign in through Clay.", writeOnly, false)
	password.Returned = returnedNever
	groups := complexAttr("groups", "The groups the user belongs to: the group of the user's Clay role.", true, readOnly,
		str("value", "The id of the group.", readOnly, true),
		ref("$ref", "The URI of the group.", readOnly, "Group"),
		str("display", "The group's name.", readOnly, false),
		str("type", "How the membership is derived.", readOnly, false),
	)
	attrs := append(common(),
		userName,
		complexAttr("name", "The components of the user's name.", false, readWrite,
			str("formatted", "The full name, formatted for display.", readWrite, false),
			str("familyName", "The family name.", readWrite, false),
			str("givenName", "The given name.", readWrite, false),
			str("middleName", "The middle name.", readWrite, false),
			str("honorificPrefix", "The honorific prefix.", readWrite, false),
			str("honorificSuffix", "The honorific suffix.", readWrite, false),
		),
		str("displayName", "The name of the user, suitable for display.", readWrite, false),
		str("nickName", "The casual way to address the user.", readWrite, false),
		ref("profileUrl", "A URI of the user's online profile.", readWrite, referenceExternal),
		str("title", "The user's title.", readWrite, false),
		str("userType", "The relationship between the organization and the user.", readWrite, false),
		str("preferredLanguage", "The user's preferred written or spoken language.", readWrite, false),
		str("locale", "The user's default location.", readWrite, false),
		str("timezone", "The user's time zone.", readWrite, false),
		boolean("active", "Whether the user holds a seat (or a pending invitation) in the Clay workspace. Setting it to false removes the member and revokes the invitation; setting it to true invites the user again.", readWrite),
		password,
		multiValue("emails", "Email addresses. The Clay address is chosen among them as the service is configured.", typeString, "work", "home", "other"),
		multiValue("phoneNumbers", "Phone numbers.", typeString, "work", "home", "mobile", "fax", "pager", "other"),
		multiValue("ims", "Instant messaging addresses.", typeString),
		multiValue("photos", "URLs of photos of the user.", typeReference, "photo", "thumbnail"),
		complexAttr("addresses", "Physical mailing addresses.", true, readWrite,
			str("formatted", "The full mailing address.", readWrite, false),
			str("streetAddress", "The street address.", readWrite, false),
			str("locality", "The city or locality.", readWrite, false),
			str("region", "The state or region.", readWrite, false),
			str("postalCode", "The zip or postal code.", readWrite, false),
			str("country", "The country.", readWrite, false),
			str("type", "A label indicating the address's function.", readWrite, false),
			boolean("primary", "Whether this is the preferred address.", readWrite),
		),
		groups,
		multiValue("entitlements", "Entitlements; kept but not acted on.", typeString),
		multiValue("roles", "Roles; kept but not acted on (the Clay role is in the extension).", typeString),
		multiValue("x509Certificates", "Certificates.", typeBinary),
	)
	return &schema{ID: SchemaUser, Name: "User", Description: "User Account", Attributes: attrs}
}()

var enterpriseSchema = &schema{
	ID: SchemaEnterpriseUser, Name: "EnterpriseUser", Description: "Enterprise User",
	Attributes: []attribute{
		str("employeeNumber", "The employee number.", readWrite, false),
		str("costCenter", "The cost center.", readWrite, false),
		str("organization", "The organization.", readWrite, false),
		str("division", "The division.", readWrite, false),
		str("department", "The department.", readWrite, false),
		complexAttr("manager", "The user's manager.", false, readWrite,
			str("value", "The id of the manager.", readWrite, false),
			ref("$ref", "The URI of the manager.", readWrite, "User"),
			str("displayName", "The manager's name.", readOnly, false),
		),
	},
}

// Attribute names of the Clay extension.
const (
	attrRole    = "role"
	attrPending = "pending"
	attrEmail   = "email"
)

var claySchema = func() *schema {
	role := str(attrRole, "The Clay workspace role. Changing it changes the role in Clay.", readWrite, false)
	for _, r := range roster.Roles {
		role.CanonicalValues = append(role.CanonicalValues, string(r))
	}
	return &schema{
		ID: SchemaClayUser, Name: "ClayUser", Description: "The user's seat in the Clay workspace",
		Attributes: []attribute{
			role,
			boolean(attrPending, "True while the user's invitation is pending, false once the user is a member.", readOnly),
			str(attrEmail, "The address of the Clay account; it does not change with the user's emails.", readOnly, false),
		},
	}
}()

var groupSchema = func() *schema {
	displayName := str("displayName", "The name of the group; one group per Clay role, fixed: a new name is accepted and ignored.", readOnly, false)
	displayName.Required, displayName.Uniqueness = true, uniqueServer
	value := str("value", "The id of the member.", immutable, true)
	return &schema{
		ID: SchemaGroup, Name: "Group", Description: "Group: the users holding one Clay role",
		Attributes: append(common(),
			displayName,
			complexAttr("members", "The users holding the role. Adding a user sets the role; removing one sets the default role.", true, readWrite,
				value,
				ref("$ref", "The URI of the member.", immutable, "User"),
				str("display", "The member's Clay address.", readOnly, false),
				str("type", "The type of the member: User.", immutable, false),
			),
		),
	}
}()

var (
	userType = &resourceType{
		Name: "User", Endpoint: "/Users", Description: "Members and pending invitations of the Clay workspace",
		Core: userSchema, Extensions: []*schema{enterpriseSchema, claySchema},
	}
	groupType = &resourceType{
		Name: "Group", Endpoint: "/Groups", Description: "One group per Clay role",
		Core: groupSchema,
	}
	resourceTypes = []*resourceType{userType, groupType}
	schemas       = []*schema{userSchema, enterpriseSchema, claySchema, groupSchema}
)
