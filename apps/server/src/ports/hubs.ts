/** The operator's own AWS identity in a partition, which customers' roles trust. */
export interface HubIdentity {
  /** The principal customers' roles trust: account ID or role/user ARN, in its partition. */
  principalArn: string;
}
