import StratusCore
public enum IdentityPlaceholder {}
