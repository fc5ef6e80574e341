using System.Security.Cryptography;

namespace Sandbox.Core;

/// <summary>Sandbox ids: 12 lowercase hex digits, as docker's short ids.</summary>
public static class SandboxId
{
    public static string New() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
}
