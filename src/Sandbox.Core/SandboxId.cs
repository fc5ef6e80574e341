namespace Sandbox.Core;

/// <summary>Sandbox ids: 12 lowercase hex digits, as docker's short ids.</summary>
public static class SandboxId
{
    /// <summary>
    /// Six bytes from the kernel's generator. Not RandomNumberGenerator: on Linux that loads and initialises OpenSSL
    /// (libssl, libcrypto, openssl.cnf), which cost more than any other single step of a container start.
    /// </summary>
    public static string New()
    {
        Span<byte> bytes = stackalloc byte[6];
        using (var urandom = new FileStream("/dev/urandom", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0))
            urandom.ReadExactly(bytes);
        return Convert.ToHexStringLower(bytes);
    }
}
