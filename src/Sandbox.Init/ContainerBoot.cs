namespace Sandbox.Init;

/// <summary>Init's start inside a container: fresh namespaces made by the host, a socketpair to the host.</summary>
internal static class ContainerBoot
{
    public static int Run(string[] args)
    {
        Console.Error.WriteLine("sandbox-init: container mode not implemented yet");
        return 125;
    }
}
