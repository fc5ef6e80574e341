using Sandbox.Core;

namespace Sandbox.Images.Registry;

/// <summary>What went wrong talking to a registry.</summary>
public enum RegistryFailure
{
    /// <summary>The registry refused the credentials (or asked for some and none were stored).</summary>
    Unauthorized,
    /// <summary>Authenticated, but not allowed to do this (pull or push that repository).</summary>
    Denied,
    /// <summary>No such repository, tag, manifest or blob.</summary>
    NotFound,
    /// <summary>Content did not match its digest or size, or a header lied about it.</summary>
    Digest,
    /// <summary>The registry sent something the protocol does not allow (bad JSON, media type, status).</summary>
    Protocol,
    /// <summary>The connection failed or the registry kept failing (5xx) after every retry.</summary>
    Network,
    /// <summary>The registry went silent for longer than the idle timeout.</summary>
    Timeout,
    /// <summary>The TLS handshake failed (unknown CA, wrong name) or plain HTTP was refused.</summary>
    Tls,
    /// <summary>No linux/amd64 image in the index.</summary>
    Platform,
}

/// <summary>A registry operation failed; the message names the registry and repository, never a secret.</summary>
public sealed class RegistryException(RegistryFailure failure, string message, Exception? inner = null)
    : SandboxException(SandboxFailure.Image, message, inner)
{
    public RegistryFailure Failure { get; } = failure;
}
