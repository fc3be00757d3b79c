/**
 * Email addresses as SendEmail takes them, and the verified identities a sender must be covered by.
 *
 * Identities are the templates' `AWS::SES::EmailIdentity` resources, all taken as verified (in AWS
 * an address is verified once its owner follows the link SES mails, a domain once SES sees its DKIM
 * records; locally the template is the proof). Covering follows "Creating and verifying
 * identities" (docs.aws.amazon.com/ses/latest/dg/creating-identities.html): an address identity
 * covers that address only; a domain identity covers every address at the domain and at its
 * subdomains (`example.com` covers `a@example.com` and `a@mail.example.com`). The local part is
 * compared as written, since AWS's troubleshooting note says verified addresses are case-sensitive
 * (repost.aws/knowledge-center/ses-554-400-message-rejected-error); domains are compared without
 * case, as DNS names are (chosen: AWS does not say).
 *
 * The account is taken to be out of the SES sandbox: recipients need no verification.
 */

/** Characters a local part may hold unquoted (RFC 5322 atext, and dots). */
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$/;
/** ASCII labels (SES wants internationalized domains in Punycode), at least two. */
const DOMAIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

/**
 * The address of `"Name" <a@b>`, `Name <a@b>`, `<a@b>` or `a@b`; undefined when `text` is not an
 * address in one of those forms.
 */
export function parseAddress(text: string): string | undefined {
  const trimmed = text.trim();
  const angle = /^(?:"(?:[^"\\]|\\.)*"|[^<>"]*)\s*<([^<>]*)>$/.exec(trimmed);
  const address = angle ? angle[1]!.trim() : trimmed;
  const at = address.lastIndexOf('@');
  if (at <= 0) return undefined;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (!LOCAL_PART.test(local) || local.startsWith('.') || local.endsWith('.') || local.includes('..')) return undefined;
  if (!DOMAIN.test(domain) || domain.length > 253) return undefined;
  return address;
}

export class VerifiedIdentities {
  private readonly addresses = new Set<string>();
  private readonly domains = new Set<string>();

  /** Adds an identity: an address (it has an `@`) or a domain. */
  add(identity: string): void {
    if (identity.includes('@')) this.addresses.add(normalize(identity));
    else this.domains.add(identity.toLowerCase().replace(/\.$/, ''));
  }

  /** Whether `address` (already parsed) may send. */
  covers(address: string): boolean {
    if (this.addresses.has(normalize(address))) return true;
    let domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
    for (;;) {
      if (this.domains.has(domain)) return true;
      const dot = domain.indexOf('.');
      if (dot < 0) return false;
      domain = domain.slice(dot + 1);
    }
  }

  get size(): number {
    return this.addresses.size + this.domains.size;
  }
}

/** The local part as written, the domain in lower case. */
function normalize(address: string): string {
  const at = address.lastIndexOf('@');
  return `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}`;
}
